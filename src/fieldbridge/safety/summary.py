"""The daily safety summary of a site and local date, computed in SQL.

Which instants belong to the day, to each shift and to each zone's PPE hours is decided in the
site's zone (`kit/zones.py`) and handed to the database as UTC bounds, so 23- and 25-hour days
need nothing special. Two GROUP BY queries do the counting, one over detections and one over
PPE observations, each a single index range scan; Python then adds up the handful of groups.

PPE compliance (domain-time-safety.md C.2): rate = 1 - violations / opportunities, per item,
per shift and overall. An opportunity is a person seen (a PPE observation) in a zone that
requires the item, inside the zone's PPE hours; a violation is a ppe_violation detection there
missing the item. False positives count nowhere. Without opportunities the rate is undefined
(None), never made up from alert counts. A shift's numbers cover the whole shift (a night shift
runs past midnight); the day's totals cover the local day.
"""

import json
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.zones import day_bounds, local_span, zone
from fieldbridge.safety import daily_log, events
from fieldbridge.safety.models import (
    Detection,
    DetectionType,
    PpeObservation,
    ReviewState,
    SafetyShift,
    SafetySite,
    SafetySummary,
    SafetyZone,
    ZoneType,
)
from fieldbridge.safety.repository import SafetyRepository

RATE_RULE = (
    "PPE compliance = 1 - violations / opportunities. Opportunities are people seen in a zone "
    "requiring the item during its PPE hours; false positives are excluded; no opportunities "
    "means no rate."
)


def _rate(violations: int, opportunities: int) -> dict[str, Any]:
    out: dict[str, Any] = {"violations": violations, "opportunities": opportunities, "rate": None}
    if opportunities > 0:
        out["rate"] = round(max(0.0, 1 - violations / opportunities), 4)
        if violations > opportunities:
            out["warning"] = "more violations than people seen: check the cameras' observation counts"
    return out


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _shift_windows(
    shifts: list[SafetyShift], day: date, tz: Any
) -> list[tuple[SafetyShift, datetime, datetime]]:
    return [
        (s, *local_span(day, s.start_time, s.end_time, tz))
        for s in shifts
        if day.isoweekday() in (s.days or [])
    ]


def _window_condition(
    column: Any, zone_col: Any, zones: list[SafetyZone], day: date, tz: Any
) -> ColumnElement[bool]:
    """In a PPE zone during its PPE hours (yesterday's, today's and tomorrow's windows, so a
    night window and a night shift both work)."""
    conds: list[ColumnElement[bool]] = []
    for z in zones:
        if z.ppe_start is None or z.ppe_end is None:
            conds.append(zone_col == z.id)
            continue
        spans = [local_span(day + timedelta(days=k), z.ppe_start, z.ppe_end, tz) for k in (-1, 0, 1)]
        conds.append(and_(zone_col == z.id, or_(*(and_(column >= a, column < b) for a, b in spans))))
    return or_(*conds) if conds else false()


async def compute(session: AsyncSession, site: SafetySite, day: date) -> dict[str, Any]:
    """The summary of one site-day, as the JSON snapshot stores it."""
    repo = SafetyRepository.from_session(session)
    tz = zone(site.time_zone)
    start, end = day_bounds(day, tz)
    zones = list(await repo.zones(site.company_id, [site.id]))
    names = {z.id: z.name for z in zones}
    ppe_zones = [z for z in zones if z.type == ZoneType.ppe_required and z.required_ppe]
    required = {z.id: set(z.required_ppe) for z in ppe_zones}
    windows = _shift_windows(list(await repo.shifts(site.company_id, site.id)), day, tz)
    lo = min([start, *(a for _, a, _ in windows)])
    hi = max([end, *(b for _, _, b in windows)])

    # One scan, few groups: the keys are low-cardinality columns (so PostgreSQL hashes them in
    # memory) and "in the day", "in PPE hours" and "in shift k" are conditional sums.
    at = Detection.occurred_at
    in_day = and_(at >= start, at < end)
    in_window = _window_condition(at, Detection.zone_id, ppe_zones, day, tz)
    in_shift = [and_(at >= a, at < b) for _, a, b in windows]
    outside = and_(in_window, *(~c for c in in_shift)) if in_shift else in_window
    items = case(
        (Detection.type == DetectionType.ppe_violation, cast(Detection.missing_items, Text)), else_=None
    )
    sums = [
        func.sum(case((in_day, 1), else_=0)).label("day"),
        func.sum(case((and_(in_day, in_window), 1), else_=0)).label("day_ppe"),
        func.sum(case((outside, 1), else_=0)).label("s0"),
        *(
            func.sum(case((and_(c, in_window), 1), else_=0)).label(f"s{s.id}")
            for c, (s, _, _) in zip(in_shift, windows, strict=True)
        ),
    ]
    keys = [Detection.type, Detection.state, Detection.zone_id, items.label("items")]
    stmt = select(*keys, *sums).where(Detection.site_id == site.id, at >= lo, at < hi).group_by(*keys)
    shift_ids = [0, *(s.id for s, _, _ in windows)]
    by_type: dict[str, dict[str, Any]] = {}
    breaches: dict[int | None, int] = defaultdict(int)
    violations: dict[tuple[int, str], int] = defaultdict(int)  # (shift, item) -> count
    day_violations: dict[str, int] = defaultdict(int)
    for row in await session.execute(stmt):
        kind, state, zone_id, items_text = row[:4]
        count = int(row.day or 0)
        if count:
            entry = by_type.setdefault(
                kind, {"total": 0, "false_positives": 0, "confirmed": 0, "by_state": {}}
            )
            entry["by_state"][state] = entry["by_state"].get(state, 0) + count
            if state == ReviewState.false_positive:
                entry["false_positives"] += count
            else:
                entry["total"] += count
            if state == ReviewState.confirmed:
                entry["confirmed"] += count
            if kind == DetectionType.zone_breach and state != ReviewState.false_positive:
                breaches[zone_id] += count
        if kind != DetectionType.ppe_violation or state == ReviewState.false_positive:
            continue
        missing = set(json.loads(items_text or "[]")) & required.get(zone_id, set())
        for item in missing:
            for shift_id in shift_ids:
                violations[(shift_id, item)] += int(getattr(row, f"s{shift_id}") or 0)
            day_violations[item] += int(row.day_ppe or 0)

    seen = PpeObservation.observed_at
    o_day = and_(seen >= start, seen < end)
    o_shift = [and_(seen >= a, seen < b) for _, a, b in windows]
    o_outside = and_(*(~c for c in o_shift)) if o_shift else None
    persons = PpeObservation.persons
    o_sums = [
        func.sum(case((o_day, persons), else_=0)).label("day"),
        (func.sum(case((o_outside, persons), else_=0)) if o_outside is not None else func.sum(persons)).label(
            "s0"
        ),
        *(
            func.sum(case((c, persons), else_=0)).label(f"s{s.id}")
            for c, (s, _, _) in zip(o_shift, windows, strict=True)
        ),
    ]
    o_window = _window_condition(seen, PpeObservation.zone_id, ppe_zones, day, tz)
    o_stmt = (
        select(PpeObservation.zone_id, *o_sums)
        .where(PpeObservation.site_id == site.id, seen >= lo, seen < hi, o_window)
        .group_by(PpeObservation.zone_id)
    )
    opportunities: dict[tuple[int, str], int] = defaultdict(int)
    day_opportunities: dict[str, int] = defaultdict(int)
    for row in await session.execute(o_stmt):
        for item in required.get(row.zone_id, set()):
            for shift_id in shift_ids:
                opportunities[(shift_id, item)] += int(getattr(row, f"s{shift_id}") or 0)
            day_opportunities[item] += int(row.day or 0)

    all_items = sorted({i for z in ppe_zones for i in z.required_ppe})

    def block(v: dict[str, int], o: dict[str, int]) -> dict[str, Any]:
        per_item = [{"item": i, **_rate(v.get(i, 0), o.get(i, 0))} for i in all_items]
        return {**_rate(sum(v.values()), sum(o.values())), "by_item": per_item}

    def of_shift(shift_id: int) -> dict[str, Any]:
        v = {i: n for (s, i), n in violations.items() if s == shift_id}
        o = {i: n for (s, i), n in opportunities.items() if s == shift_id}
        return block(v, o)

    by_shift = [
        {
            "shift_id": s.id,
            "name": s.name,
            "start": _iso(a),
            "end": _iso(b),
            "hours": round((b - a).total_seconds() / 3600, 2),
            **of_shift(s.id),
        }
        for s, a, b in windows
    ]
    totals = {k: v["total"] for k, v in by_type.items()}
    return {
        "site": {"id": site.id, "name": site.name, "time_zone": tz.key},
        "date": day.isoformat(),
        "day": {
            "start": _iso(start),
            "end": _iso(end),
            "hours": round((end - start).total_seconds() / 3600, 2),
        },
        "alerts": {
            "total": sum(totals.values()),
            "false_positives": sum(v["false_positives"] for v in by_type.values()),
            "by_type": dict(sorted(by_type.items())),
        },
        "confirmed": sum(v["confirmed"] for v in by_type.values()),
        "zone_breaches": {
            "total": sum(breaches.values()),
            "by_zone": [
                {"zone_id": z, "zone": names.get(z, "no zone") if z else "no zone", "count": n}
                for z, n in sorted(breaches.items(), key=lambda kv: -kv[1])
            ],
        },
        "ppe": {
            "overall": block(day_violations, day_opportunities),
            "by_shift": by_shift,
            "outside_shifts": of_shift(0),
            "rule": RATE_RULE,
        },
    }


async def snapshot(session: AsyncSession, site: SafetySite, day: date) -> SafetySummary:
    """Compute and store the next version of a site-day's summary."""
    data = await compute(session, site, day)
    repo = SafetyRepository.from_session(session)
    row = SafetySummary(
        company_id=site.company_id,
        site_id=site.id,
        local_date=day,
        version=await repo.next_version(site.id, day),
        computed_at=utcnow(),
        data=data,
    )
    await repo.add(row)
    await events.summary_posted(session, site, row)
    await daily_log.summary_stored(session, site, row)
    return row


async def trend(
    session: AsyncSession, site: SafetySite, last: date, days: int
) -> list[tuple[date, dict[str, Any]]]:
    """The summaries of `days` dates up to `last`: each date's latest snapshot, else computed
    now (not stored)."""
    repo = SafetyRepository.from_session(session)
    stored = {s.local_date: s.data for s in await repo.summaries(site.company_id, site.id, None, False)}
    out = []
    for k in range(days - 1, -1, -1):
        day = last - timedelta(days=k)
        out.append((day, stored.get(day) or await compute(session, site, day)))
    return out
