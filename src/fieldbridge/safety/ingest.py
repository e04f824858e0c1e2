"""Detection and observation ingest: validate each row on its own, store the good rows with one
multi-row INSERT that skips known client event ids, answer per row.

A replay (an event id the company already sent, or the same id twice in one batch) is not an
error: it answers "duplicate" with the stored id. The caller's transaction commits before the
answer leaves (`kit.deps.get_session`), so "created" means committed.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import BadRequest, PayloadTooLarge, Unprocessable
from fieldbridge.safety import events, outbound
from fieldbridge.safety.models import Detection, PpeObservation, ReviewState, SafetySite, SafetyZone
from fieldbridge.safety.repository import SafetyRepository
from fieldbridge.safety.schemas import (
    BatchIn,
    DetectionIn,
    EvidenceRef,
    FieldProblem,
    ObservationIn,
    RowResult,
)

MAX_BATCH = 1000
MAX_AGE = timedelta(days=366)  # older than a year: a wrong clock, not a late upload
MAX_AHEAD = timedelta(minutes=5)  # a little clock skew is normal

In = TypeVar("In", DetectionIn, ObservationIn)
_DETECTIONS = TypeAdapter(list[DetectionIn])
_OBSERVATIONS = TypeAdapter(list[ObservationIn])
_BATCH = TypeAdapter(BatchIn)


@dataclass
class Outcome:
    results: list[RowResult]
    created: int = 0
    duplicates: int = 0
    errors: int = 0
    first_error: list[FieldProblem] = field(default_factory=list)
    stored: dict[int, dict[str, Any]] = field(default_factory=dict)  # index -> the row as written


def _problems(exc: ValidationError, prefix: str) -> list[FieldProblem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        name = f"{prefix}.{loc}" if prefix and loc else (prefix or loc or "body")
        out.append(FieldProblem(field=name, problem=str(err.get("msg", "invalid"))))
    return out


def validate_rows(
    raw: list[Any], model: type[In], adapter: TypeAdapter[list[In]], what: str
) -> tuple[dict[int, In], dict[int, list[FieldProblem]]]:
    """Each row as a model, or its problems. The whole list is tried at once first (fast); only
    a list with a bad row is checked row by row."""
    if len(raw) > MAX_BATCH:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_BATCH} {what}; this one has {len(raw)}. "
            "Split it and send the parts.",
            code="batch_too_large",
            details={"max": MAX_BATCH, "given": len(raw)},
        )
    try:
        return dict(enumerate(adapter.validate_python(raw))), {}
    except ValidationError:
        pass
    good: dict[int, In] = {}
    bad: dict[int, list[FieldProblem]] = {}
    for i, row in enumerate(raw):
        try:
            good[i] = model.model_validate(row)
        except ValidationError as exc:
            bad[i] = _problems(exc, f"{what}[{i}]")
    return good, bad


def _time_problem(at: datetime, now: datetime, name: str) -> FieldProblem | None:
    if at > now + MAX_AHEAD:
        return FieldProblem(field=name, problem="is in the future; check the device's clock and time zone")
    if at < now - MAX_AGE:
        return FieldProblem(field=name, problem="is more than a year ago; check the device's clock")
    return None


async def _places(
    repo: SafetyRepository, company_id: int, site_ids: set[int], zone_ids: set[int]
) -> tuple[dict[int, SafetySite], dict[int, SafetyZone]]:
    sites = {s.id: s for s in await repo.sites(company_id, site_ids)} if site_ids else {}
    zones = {z.id: z for z in await repo.zones(company_id, sites)} if sites and zone_ids else {}
    return sites, {z: zones[z] for z in zone_ids if z in zones}


def _place_problems(
    prefix: str, site_id: int, zone_id: int | None, sites: dict[int, SafetySite], zones: dict[int, SafetyZone]
) -> list[FieldProblem]:
    if site_id not in sites:
        return [FieldProblem(field=f"{prefix}.site_id", problem="no such safety site in this company")]
    if zone_id is not None and (zone_id not in zones or zones[zone_id].site_id != site_id):
        return [FieldProblem(field=f"{prefix}.zone_id", problem=f"no such zone on site {site_id}")]
    return []


async def store_rows(
    repo: SafetyRepository,
    model: type[Detection] | type[PpeObservation],
    company_id: int,
    rows: dict[int, dict[str, Any]],
    outcome: Outcome,
) -> None:
    """Insert the rows (first of each event id wins), then answer each index."""
    first: dict[str, int] = {}
    for index, row in rows.items():
        first.setdefault(row["client_event_id"], index)
    stored = await repo.insert_ignoring(model, [rows[i] for i in first.values()])
    known = await repo.ids_by_event(model, company_id, [e for e in first if e not in stored])
    for index, row in rows.items():
        event_id = row["client_event_id"]
        if event_id in stored and first[event_id] == index:
            outcome.results[index] = RowResult(
                index=index, status="created", id=stored[event_id], event_id=event_id
            )
            outcome.stored[index] = row
            outcome.created += 1
        else:
            row_id = stored.get(event_id) or known.get(event_id)
            outcome.results[index] = RowResult(index=index, status="duplicate", id=row_id, event_id=event_id)
            outcome.duplicates += 1


def _start(count: int, bad: dict[int, list[FieldProblem]]) -> Outcome:
    outcome = Outcome(results=[RowResult(index=i, status="error") for i in range(count)])
    for index, problems in bad.items():
        _fail(outcome, index, problems)
    return outcome


def _fail(outcome: Outcome, index: int, problems: list[FieldProblem]) -> None:
    outcome.results[index] = RowResult(index=index, status="error", errors=problems)
    outcome.errors += 1
    if not outcome.first_error:
        outcome.first_error = problems


def _evidence(ref: EvidenceRef) -> dict[str, str]:
    """As stored (what model_dump(exclude_none=True) gives, at a fraction of its cost)."""
    out: dict[str, str] = {"kind": ref.kind}
    if ref.url is not None:
        out["url"] = ref.url
    if ref.id is not None:
        out["id"] = ref.id
    return out


def batch_rows(body: bytes) -> tuple[int, dict[int, DetectionIn], dict[int, list[FieldProblem]]]:
    """A batch body's rows: parsed and validated straight from the bytes in one pass when every
    row is good; otherwise parsed as JSON and checked row by row."""
    try:
        events = _BATCH.validate_json(body).events
    except ValidationError:
        pass
    else:
        if len(events) > MAX_BATCH:
            validate_rows(events, DetectionIn, _DETECTIONS, "events")  # raises the 413
        return len(events), dict(enumerate(events)), {}
    try:
        raw = json.loads(body)
    except ValueError:
        raise BadRequest(
            "The request body is not valid JSON. Check quotes, commas and brackets.", code="invalid_json"
        ) from None
    if not isinstance(raw, dict) or not isinstance(raw.get("events"), list):
        problem = [{"field": "body.events", "problem": 'send {"events": [ ... ]}, a list of events'}]
        raise Unprocessable('body.events: send {"events": [...]}, a list of events', details=problem)
    good, bad = validate_rows(raw["events"], DetectionIn, _DETECTIONS, "events")
    return len(raw["events"]), good, bad


async def ingest_detections(
    session: AsyncSession,
    company_id: int,
    raw: list[Any] | None = None,
    prefix: str = "events",
    *,
    body: bytes | None = None,
) -> Outcome:
    """Store the good rows of `raw` (or of a batch `body`), answer each."""
    if body is not None:
        count, good, bad = batch_rows(body)
    else:
        given = raw or []
        count = len(given)
        good, bad = validate_rows(given, DetectionIn, _DETECTIONS, prefix)
    outcome = _start(count, bad)
    repo = SafetyRepository.from_session(session)
    sites, zones = await _places(
        repo, company_id, {d.site_id for d in good.values()}, {d.zone_id for d in good.values() if d.zone_id}
    )
    workers = await repo.workers(company_id, {d.worker_id for d in good.values() if d.worker_id is not None})
    now = utcnow()
    ready: dict[int, DetectionIn] = {}
    for index, d in good.items():
        name = f"{prefix}[{index}]"
        problems = _place_problems(name, d.site_id, d.zone_id, sites, zones)
        if d.worker_id is not None and d.worker_id not in workers:
            problems.append(FieldProblem(field=f"{name}.worker_id", problem="no such worker in this company"))
        late = _time_problem(d.occurred_at, now, f"{name}.occurred_at")
        problems += [late] if late else []
        if problems:
            _fail(outcome, index, problems)
        else:
            ready[index] = d
    holders = await repo.holders(
        company_id,
        [
            (sites[d.site_id].project_id, d.device_id, d.occurred_at)
            for d in ready.values()
            if d.device_id and d.worker_id is None
        ],
    )
    rows: dict[int, dict[str, Any]] = {}
    for index, d in ready.items():
        worker_id = d.worker_id
        if worker_id is None and d.device_id:
            worker_id = holders.get((sites[d.site_id].project_id, d.device_id, d.occurred_at))
        offset = d.occurred_at.utcoffset()
        rows[index] = {
            "company_id": company_id,
            "site_id": d.site_id,
            "zone_id": d.zone_id,
            "client_event_id": d.event_id,
            "type": d.type.value,
            "missing_items": d.missing_items,
            "priority": d.priority,
            "source": d.source.value,
            "source_ref": d.source_ref,
            "device_id": d.device_id,
            "worker_id": worker_id,
            "occurred_at": d.occurred_at.astimezone(UTC),
            "utc_offset_minutes": int(offset.total_seconds() // 60) if offset is not None else None,
            "confidence": d.confidence,
            "description": d.description,
            "evidence": [_evidence(e) for e in d.evidence],
            "state": ReviewState.new.value,
            "received_at": now,
            "updated_at": now,
        }
    await store_rows(repo, Detection, company_id, rows, outcome)
    created = {i: (outcome.results[i].id or 0, row) for i, row in outcome.stored.items()}
    await events.detections_created(session, company_id, created, sites)
    await outbound.observe(session, company_id, created, zones)
    return outcome


async def ingest_observations(session: AsyncSession, company_id: int, raw: list[Any]) -> Outcome:
    prefix = "observations"
    good, bad = validate_rows(raw, ObservationIn, _OBSERVATIONS, prefix)
    outcome = _start(len(raw), bad)
    repo = SafetyRepository.from_session(session)
    sites, zones = await _places(
        repo, company_id, {o.site_id for o in good.values()}, {o.zone_id for o in good.values()}
    )
    now = utcnow()
    rows: dict[int, dict[str, Any]] = {}
    for index, o in good.items():
        name = f"{prefix}[{index}]"
        problems = _place_problems(name, o.site_id, o.zone_id, sites, zones)
        late = _time_problem(o.observed_at, now, f"{name}.observed_at")
        problems += [late] if late else []
        if problems:
            _fail(outcome, index, problems)
            continue
        rows[index] = {
            "company_id": company_id,
            "site_id": o.site_id,
            "zone_id": o.zone_id,
            "client_event_id": o.event_id,
            "observed_at": o.observed_at,
            "persons": o.persons,
            "source_ref": o.source_ref,
            "received_at": now,
        }
    await store_rows(repo, PpeObservation, company_id, rows, outcome)
    return outcome


def as_model(value: BaseModel) -> dict[str, Any]:
    """A validated single event as the raw row the batch path takes."""
    return value.model_dump(mode="json")
