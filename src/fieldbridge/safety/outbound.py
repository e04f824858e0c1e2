"""Safety observations out: zone breaches and PPE non-compliance become observations on the
platforms a site is linked to (`<provider>.safety.observation` ledger rows). No provider is
named here; the connector's handler of that kind decides how the row reaches its platform.

Which detections: zone breaches and PPE violations (a detection with an injury is an
incident, handled by incidents), at or above the link's threshold (default priority >= 3 of
5), or every one when the link pushes all.

Folding: repeats of the same (type, zone, worker) on a link within its fold window (from the
first detection) are one observation with a count (`ObservationFold`). The first enqueues a
create (subject `observation:<first detection id>`), due at once; a repeat rewrites that
subject's row while it has not been tried (the create, or the update waiting behind it), and
only enqueues a new update row when the earlier one has left. An update is due
`UPDATE_DELAY` after it is enqueued, so a burst costs one create and about one update a
minute, however many detections it holds. Idempotency keys are
`observation:<first id>:v<count>`.

Cost on the ingest hot path: nothing for a batch without zone breaches or PPE violations; one
query per site of the batch for its links; with links, a row lock on them (folding of one site
is serialised) and one query for the open folds of the whole batch, two mapping look-ups per
(connection, type, priority), one UPDATE per touched fold and one multi-row INSERT of the new
ledger rows.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Capability
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.urls import absolute
from fieldbridge.safety import links, mapping
from fieldbridge.safety.models import DetectionType, ObservationFold, SafetySiteLink, SafetyZone

# An update (a new count) waits this long before it is due, so the repeats of a busy minute
# rewrite one waiting row instead of each costing a request; the create goes at once.
UPDATE_DELAY = timedelta(seconds=60)
OBSERVED = frozenset({DetectionType.zone_breach.value, DetectionType.ppe_violation.value})
MAX_IDS = 20  # detection ids kept in a fold's payload; the count covers the rest
WHAT = "observation"


def detection_link(detection_id: int) -> str:
    return absolute(f"/safety/detections/{detection_id}")


def eligible(target: links.LinkTarget, priority: int) -> bool:
    return target.push_all or priority >= target.observation_threshold


def fold_key(row: Mapping[str, Any]) -> str:
    zone, worker = row.get("zone_id"), row.get("worker_id")
    return f"{row['type']}:{zone if zone is not None else '-'}:{worker if worker is not None else '-'}"


def frame_ref(row: Mapping[str, Any]) -> str | None:
    """The camera frame (or clip) the detection points at: its URL, else its id."""
    for ref in row.get("evidence") or []:
        if ref.get("kind") in ("frame", "snapshot", "clip"):
            return str(ref.get("url") or ref.get("id"))
    return None


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def payload(
    fold: ObservationFold, row: Mapping[str, Any], zone: str | None, mapped: dict[str, Any]
) -> dict[str, Any]:
    """The seam's observation payload: the fold's state and the latest detection's facts.
    Never a worker's name, email or phone (the worker is only part of the fold key)."""
    kind = str(row["type"]).replace("_", " ")
    missing = ", ".join(str(m).replace("_", " ") for m in row.get("missing_items") or [])
    title = f"{kind.capitalize()}" + (f" in {zone}" if zone else "") + (f" ({missing})" if missing else "")
    times = _iso(fold.first_at) if fold.count == 1 else f"{_iso(fold.first_at)} to {_iso(fold.last_at)}"
    lines = [
        f"Detection type: {kind}" + (f" (missing: {missing})" if missing else ""),
        f"Zone: {zone or 'no zone'}",
        f"Time (UTC): {times}",
        f"Count: {fold.count}",
        f"Priority: {fold.priority} of 5",
    ]
    if row.get("description"):
        lines.append(f"Note: {str(row['description'])[:500]}")
    link = detection_link(fold.first_detection_id)
    lines.append(f"FieldBridge detection (camera frame reference): {link}")
    return {
        "detection_ids": list(fold.detection_ids),
        "site_id": fold.site_id,
        "type": str(row["type"]),
        "zone": zone,
        "priority": fold.priority,
        "count": fold.count,
        "first_at": _iso(fold.first_at),
        "last_at": _iso(fold.last_at),
        "link": link,
        "frame_ref": frame_ref(row),
        "title": title[:200],
        "description": "\n".join(lines),
        "mapped": mapped,
    }


@dataclass
class _Work:
    target: links.LinkTarget
    fold: ObservationFold
    row: Mapping[str, Any]  # the latest detection folded in
    new: bool


async def _targets(
    session: AsyncSession, company_id: int, sites: set[int]
) -> dict[int, list[links.LinkTarget]]:
    out = {}
    for site_id in sorted(sites):
        found = await links.targets(session, company_id, site_id, Capability.observations)
        if found:
            out[site_id] = found
    return out


async def _open_folds(
    session: AsyncSession,
    company_id: int,
    link_ids: set[int],
    conns: set[int],
    sites: set[int],
    keys: set[str],
    since: datetime,
) -> dict[tuple[int, int, str], list[ObservationFold]]:
    """The folds still open, read under the links' row locks: two ingest transactions of one
    site fold one after the other (the second reads what the first committed), so a repeat is
    never counted twice nor opens a second observation."""
    await session.execute(
        select(SafetySiteLink.id)
        .where(SafetySiteLink.id.in_(link_ids))
        .order_by(SafetySiteLink.id)
        .with_for_update()
    )
    rows = await session.scalars(
        select(ObservationFold)
        .where(
            ObservationFold.company_id == company_id,
            ObservationFold.connection_id.in_(conns),
            ObservationFold.site_id.in_(sites),
            ObservationFold.fold_key.in_(keys),
            ObservationFold.window_end > since,
        )
        .order_by(ObservationFold.id)
    )
    out: dict[tuple[int, int, str], list[ObservationFold]] = {}
    for fold in rows:
        out.setdefault((fold.connection_id, fold.site_id, fold.fold_key), []).append(fold)
    return out


def _fold_in(
    index: dict[tuple[int, int, str], list[ObservationFold]],
    target: links.LinkTarget,
    company_id: int,
    detection_id: int,
    row: Mapping[str, Any],
) -> tuple[ObservationFold, bool]:
    """The fold this detection joins (bumped), or a new one; True when new."""
    at: datetime = row["occurred_at"]
    key = (target.connection_id, int(row["site_id"]), fold_key(row))
    for fold in index.get(key, []):
        # A repeat within the window either side of the fold's first detection joins it: two
        # gateways' batches may commit out of order (the later detection's fold first).
        if fold.first_at - (fold.window_end - fold.first_at) < at < fold.window_end:
            fold.first_at = min(fold.first_at, at)
            fold.count += 1
            fold.last_at = max(fold.last_at, at)
            fold.priority = max(fold.priority, int(row["priority"]))
            if len(fold.detection_ids) < MAX_IDS:
                fold.detection_ids = [*fold.detection_ids, detection_id]
            return fold, False
    fold = ObservationFold(
        company_id=company_id,
        connection_id=target.connection_id,
        site_id=int(row["site_id"]),
        fold_key=key[2],
        first_detection_id=detection_id,
        count=1,
        priority=int(row["priority"]),
        first_at=at,
        last_at=at,
        window_end=at + timedelta(seconds=target.fold_window_s),
        detection_ids=[detection_id],
    )
    index.setdefault(key, []).append(fold)
    return fold, True


async def observe(
    session: AsyncSession,
    company_id: int,
    created: Mapping[int, tuple[int, Mapping[str, Any]]],
    zones: Mapping[int, SafetyZone],
) -> int:
    """Fold newly stored detections (`created`: index -> (id, row as written)) into
    observations and enqueue their deliveries. Returns the ledger rows written or rewritten."""
    candidates = [(i, r) for i, r in created.values() if r["type"] in OBSERVED]
    if not candidates:
        return 0
    by_site = await _targets(session, company_id, {int(r["site_id"]) for _, r in candidates})
    pairs = [
        (t, i, r)
        for i, r in sorted(candidates, key=lambda c: (c[1]["occurred_at"], c[0]))
        for t in by_site.get(int(r["site_id"]), [])
        if eligible(t, int(r["priority"]))
    ]
    if not pairs:
        return 0
    index = await _open_folds(
        session,
        company_id,
        {t.link_id for t, _, _ in pairs},
        {t.connection_id for t, _, _ in pairs},
        {int(r["site_id"]) for _, _, r in pairs},
        {fold_key(r) for _, _, r in pairs},
        min(r["occurred_at"] for _, _, r in pairs),
    )
    work: dict[int, _Work] = {}  # id(fold) -> what to send for it
    for target, detection_id, row in pairs:
        fold, new = _fold_in(index, target, company_id, detection_id, row)
        if new:
            session.add(fold)
        known = work.get(id(fold))
        work[id(fold)] = _Work(target, fold, row, new or (known is not None and known.new))
    mapped = _Mapped(session)
    fresh: dict[str, list[delivery.NewRow]] = {}  # kind -> rows
    for item in work.values():
        zone = zones.get(item.row["zone_id"]) if item.row.get("zone_id") else None
        body = payload(
            item.fold,
            item.row,
            zone.name if zone else None,
            await mapped.of(item.target, item.row, item.fold),
        )
        subject = f"observation:{item.fold.first_detection_id}"
        key = f"{subject}:v{item.fold.count}"
        if not item.new and await coalesce(session, item.target.connection_id, subject, body, key):
            continue
        due = None if item.new else utcnow() + UPDATE_DELAY
        fresh.setdefault(links.kind_for(item.target, WHAT), []).append(
            delivery.NewRow(item.target.connection_id, subject, body, key, item.target.remote_project_id, due)
        )
    await session.flush()
    for kind, rows in fresh.items():
        await delivery.enqueue_new(session, company_id=company_id, kind=kind, rows=rows)
    return len(work)


async def coalesce(
    session: AsyncSession, connection_id: int, subject: str, body: dict[str, Any], key: str
) -> bool:
    """Rewrite the subject's row that has not been tried yet (the create, or the update queued
    behind the one in flight) to the fold's new state; False when none is waiting. A runner
    that claims the row first wins: this UPDATE then matches nothing (PostgreSQL re-checks
    the status after the claim's lock) and a new update row is queued instead."""
    result = await session.execute(
        update(Delivery)
        .where(
            Delivery.connection_id == connection_id,
            Delivery.subject == subject,
            Delivery.status == Status.pending,
            Delivery.attempts == 0,
        )
        .values(payload=body, idempotency_key=key, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


class _Mapped:
    """Mapping look-ups of one ingest call, each asked once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.seen: dict[tuple[int, str, str], dict[str, Any] | None] = {}

    async def _one(self, connection_id: int, category: str, key: str) -> dict[str, Any] | None:
        cache_key = (connection_id, category, key)
        if cache_key not in self.seen:
            found = await mapping.resolve(self.session, connection_id, category, key)
            self.seen[cache_key] = None if found is None else found.as_payload()
        return self.seen[cache_key]

    async def of(
        self, target: links.LinkTarget, row: Mapping[str, Any], fold: ObservationFold
    ) -> dict[str, Any]:
        return {
            "observation_type": await self._one(
                target.connection_id, mapping.OBSERVATION_TYPE, str(row["type"])
            ),
            "priority": await self._one(target.connection_id, mapping.PRIORITY, str(fold.priority)),
        }
