"""The phone's clock-in and clock-out on PostgreSQL's own driver (issue 14): the usual call in
two statements, answered before the framework's routing (`kit/hotpath.py`).

A clock-in: one read of the device token with its worker and company, and of the members with
their Procore people and their nearby shifts that the new ones can overlap; one statement
that inserts the shifts and their ledger rows. A clock-out: one read of the token, the shifts
with their ledger rows so far and their workers (with the nearby shifts each can overlap);
one statement that closes the shifts (only those still open), inserts the allocations and
the ledger rows. The company's connection, milestones, time policy and webhook interest come
from the process cache (`kit/cache.py`), which each answered call keeps alive (`Renewal`): a
busy company's calls never meet an expired entry, whose miss would send them to the route.
Every rule is `service`'s and `clocking`'s own functions; the answer is `views.shift_out`'s.

Anything else is declined (None) and the route answers it in full, as it always did: a
refusal or a replay, a cache miss, a hold, an injury report, a webhook to emit, a lost race
(the write statement is atomic, so nothing of a declined call stays). SQLite has no hot path.
"""

from collections.abc import Hashable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar, cast

from pydantic import ValidationError
from sqlalchemy import Table

from fieldbridge.accounts.auth import CALLER_CTE, CALLER_WIDTH, PhoneCaller, device_token, phone_caller
from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit import rawsql
from fieldbridge.kit.cache import Renewal, renewing
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import token_digest
from fieldbridge.kit.db import Database, unique_violation
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.hotpath import Answer, Handler
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.metrics import HOT_PATH
from fieldbridge.kit.rawpool import RawFailure
from fieldbridge.kit.zones import DEFAULT_ZONE, zone
from fieldbridge.settings import Settings
from fieldbridge.timekeeping import clocking, events, export, policy, service, targets, views
from fieldbridge.timekeeping.models import ClockAllocation, ClockShift, ShiftStatus
from fieldbridge.timekeeping.schemas import ClockIn, ClockOut, ClockResult
from fieldbridge.timekeeping.targets import Member, Nearby

log = get_logger(__name__)

CLOCK_IN = "/api/v1/time/clock-in"
CLOCK_OUT = "/api/v1/time/clock-out"

SHIFTS = cast(Table, ClockShift.__table__)
ALLOCATIONS = cast(Table, ClockAllocation.__table__)
DELIVERIES = cast(Table, Delivery.__table__)

_OPEN = rawsql.insert_json(SHIFTS, returning="id, client_id", param=1)
_LEDGER = rawsql.insert_json(DELIVERIES, returning="id, subject", param=2)
CLOCK_IN_SQL = (
    f"WITH s AS ({_OPEN}), d AS ({_LEDGER}) "
    "SELECT 's', id, client_id FROM s UNION ALL SELECT 'd', id, subject FROM d"
)

_CLOSED_COLUMNS = (
    "id", "ended_at", "break_minutes", "injured", "clock_out_id", "clocked_out_by_id", "status",
    "worked_centihours", "export_subjects", "updated_at",
)  # fmt: skip
_CLOSE = (
    "UPDATE clock_shifts c SET "
    + ", ".join(f'"{n}" = x."{n}"' for n in _CLOSED_COLUMNS[1:])
    + f" FROM jsonb_to_recordset($1::jsonb) AS {rawsql.record_type(SHIFTS, _CLOSED_COLUMNS)}"
    + " WHERE c.id = x.id AND c.company_id = $2 AND c.ended_at IS NULL RETURNING c.id"
)
_ALL_CLOSED = "(SELECT count(*) FROM u) = $3"
_SPLIT = rawsql.insert_json(ALLOCATIONS, returning="id", param=4, where=_ALL_CLOSED)
_LEDGER_OUT = rawsql.insert_json(DELIVERIES, returning="id, subject", param=5, where=_ALL_CLOSED)
CLOCK_OUT_SQL = (
    f"WITH u AS ({_CLOSE}), a AS ({_SPLIT}), d AS ({_LEDGER_OUT}) "
    "SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM a), "
    "array(SELECT id FROM d ORDER BY id), array(SELECT subject FROM d ORDER BY id)"
)
CLOCK_IN_READ = (
    f"WITH {CALLER_CTE} SELECT caller.*, {targets.MEMBER_COLUMNS} FROM caller "
    f"{targets.members_join('caller.company_id', '$3')} {targets.member_nearby('$4', '$5', '$6')} "
    "ORDER BY m.id"
)
# The caller, then each of its shifts asked for (with the name of whoever clocked it in) and
# the shift's ledger rows so far.
_SHIFT_AT = CALLER_WIDTH
_CLIENT_ID = list(SHIFTS.columns.keys()).index("client_id")
CLOCK_OUT_READ = (
    f"WITH {CALLER_CTE} SELECT caller.*, {rawsql.columns_of(SHIFTS, 's')}, b.name, "
    f"{targets.MEMBER_COLUMNS}, {rawsql.columns_of(DELIVERIES, 'r')} FROM caller "
    "LEFT JOIN clock_shifts s ON s.company_id = caller.company_id AND s.client_id = ANY($3::text[]) "
    "LEFT JOIN workers b ON b.company_id = s.company_id AND b.id = s.clocked_in_by_id "
    f"{targets.member_join('s')} {targets.member_nearby('$4', '$5', 's.started_at')} "
    "LEFT JOIN deliveries r ON r.company_id = s.company_id "
    "AND r.subject = ANY(ARRAY(SELECT json_array_elements_text(s.export_subjects))) "
    "ORDER BY r.id"
)
# A shift closed now started at most this long before its clock-out, or it is held for the
# policy (the route's): the clock-out's read takes nearby shifts from this far back, plus the
# overlap rule's own look-back (`policy.window`).
_LONGEST = timedelta(days=7)


Body = TypeVar("Body", ClockIn, ClockOut)
V = TypeVar("V")


class _Declined(Exception):
    """The usual case does not hold: the route answers this call."""


def handlers(state: Any, settings: Settings) -> dict[str, Handler]:
    """The two hot handlers for `kit.hotpath.HotPaths`, on the app's database (`state.db`, read
    at each call, PostgreSQL)."""

    async def renew(company_id: int, milestone_ids: frozenset[Hashable]) -> None:
        await _renew(state.db, company_id, milestone_ids)

    renewal = Renewal(renew)

    async def clock_in_handler(headers: Mapping[bytes, bytes], body: bytes) -> Answer | None:
        return await _counted("clock_in", clock_in(state.db, settings, headers, body, renewal))

    async def clock_out_handler(headers: Mapping[bytes, bytes], body: bytes) -> Answer | None:
        return await _counted("clock_out", clock_out(state.db, settings, headers, body, renewal))

    state.db.raw_setup.append(prepare)
    return {CLOCK_IN: clock_in_handler, CLOCK_OUT: clock_out_handler}


async def prepare(conn: Any) -> None:
    """Each statement once on a new connection, with nothing to read or write: asyncpg prepares
    it and learns its types, PostgreSQL plans it, before a phone's first call pays for that."""
    nobody = ("", utcnow())
    await conn.fetch(CLOCK_IN_READ, *nobody, [], None, None, None)
    await conn.fetch(CLOCK_OUT_READ, *nobody, [], None, None)
    await conn.fetch(CLOCK_IN_SQL, "[]", "[]")
    await conn.fetchrow(CLOCK_OUT_SQL, "[]", 0, 0, "[]", "[]")


async def _renew(db: Database, company_id: int, milestone_ids: frozenset[Hashable]) -> None:
    """Read again what the hot path takes from the process cache for this company, where it is
    near the end of its life: the same reads (and `put`s) as the routes'."""
    async with db.transaction() as session:
        renewing(session)
        await service.clock_in_connection(session, company_id)
        await targets.targets(session, company_id, sorted(cast(frozenset[int], milestone_ids)))
        await policy.rules(session, company_id)
        await events.wants_shift_closed(session, company_id)


_OUTCOMES = {
    (c, o): HOT_PATH.labels(c, o) for c in ("clock_in", "clock_out") for o in ("answered", "declined")
}


async def _counted(call: str, work: Any) -> Answer | None:
    try:
        answer: Answer = await work
    except (_Declined, FieldBridgeError):
        _OUTCOMES[call, "declined"].inc()
        return None
    except RawFailure as exc:
        # A deadlock, a busy pool, a lost connection: the route answers. Whether a lost
        # connection's write landed is unknown here; the route finds out (client ids make it a
        # replay).
        log.warning(f"hot_path.{exc.event}", call=call, error=str(exc))
        _OUTCOMES[call, "declined"].inc()
        return None
    _OUTCOMES[call, "answered"].inc()
    return answer


def _parse(model: type[Body], body: bytes) -> Body:
    try:
        return model.model_validate_json(body)
    except ValidationError:
        raise _Declined from None  # the route says what is wrong


async def _read(
    conn: Any, sql: str, headers: Mapping[bytes, bytes], settings: Settings, *args: Any
) -> tuple[PhoneCaller, list[Any]]:
    """The caller (`auth.CALLER_CTE`) and the call's rows, in one statement."""
    token = device_token(headers)
    if token is None:
        raise _Declined  # not a phone: the route knows every other caller
    now = utcnow()
    rows = await conn.fetch(sql, token_digest(token), now, *args)
    caller = None if not rows else await phone_caller(conn, rows[0], settings, now)
    if caller is None:
        raise _Declined  # the route says why the token is refused
    return caller, rows


def _known(value: V | None) -> V:
    if value is None:
        raise _Declined  # not cached (the route reads and caches it) or not there
    return value


async def clock_in(
    db: Database, settings: Settings, headers: Mapping[bytes, bytes], body: bytes, renewal: Renewal[int]
) -> Answer:
    data = _parse(ClockIn, body)
    engine = db.engine.sync_engine
    async with db.raw() as conn:
        worker_ids = service.members_once(data)
        since, until = policy.window(data.started_at, data.started_at)
        caller, crew = await _read(
            conn, CLOCK_IN_READ, headers, settings, sorted(worker_ids), since, until, data.started_at
        )
        company_id = caller.principal.company_id
        connection_id = _known(service.cached_connection(engine, company_id))
        target = _known(targets.cached(engine, company_id, [data.milestone_id]))[data.milestone_id]
        rules = _known(policy.cached_rules(engine, company_id))
        renewal.note(company_id, [data.milestone_id])
        service.may_act_for(caller.principal, caller.worker, worker_ids)
        target = service.check_target(target)
        note = service.geofence(target, data.location)
        members, nearby = _crew_of(crew)
        nearby = nearby if rules.hold_overlaps else []
        if any(w not in members or not members[w].active for w in worker_ids):
            raise _Declined
        tz = zone(target.time_zone, zone(caller.time_zone).key)
        made = [
            rawsql.instance(
                ClockShift,
                # `policy.held` tells shifts apart by id: a stand-in until the INSERT gives one
                {"id": -n}
                | rawsql.row(
                    SHIFTS,
                    {
                        "company_id": company_id,
                        "client_id": m.shift_id,
                        "clock_in_id": data.id,
                        "worker_id": m.worker_id,
                        "clocked_in_by_id": caller.worker.id,
                        "project_id": target.project_id,
                        "milestone_id": target.milestone_id,
                        "place": target.place,
                        "work_date": data.started_at.astimezone(tz).date(),
                        "time_zone": tz.key,
                        "started_at": data.started_at,
                        "latitude": data.location.latitude if data.location else None,
                        "longitude": data.location.longitude if data.location else None,
                        "geofence_note": note,
                        "connection_id": connection_id,
                        "status": ShiftStatus.open,
                        "export_subjects": [export.subject_for(m.shift_id)],
                    },
                ),
            )
            for n, m in enumerate(data.members, start=1)
        ]
        if policy.held(rules, made, nearby[: targets.NEARBY_LIMIT], tz):
            raise _Declined
        rows = []
        for shift in made:
            member = members[shift.worker_id]
            payload = export.create_payload(shift, target, member.party_id, member.name)
            if export.holds_for(shift, target, payload, member.name, []):
                raise _Declined
            rows.append(
                export.outbound(shift, export.Row(export.CREATE, export.main_subject(shift), payload, []))
            )
        try:
            written = await conn.fetch(
                CLOCK_IN_SQL,
                rawsql.to_json([_columns(SHIFTS, s) for s in made]),
                rawsql.rows_json(DELIVERIES, delivery.new_rows(company_id, rows)),
            )
        except Exception as exc:
            if unique_violation(exc):  # a re-send or a worker on the clock: the route says which
                raise _Declined from None
            raise
    delivery.wake({connection_id})
    ids = {key: id_ for kind, id_, key in written if kind == "s"}
    for shift in made:
        shift.id = ids[shift.client_id]
    names = {w: m.name for w, m in members.items()} | {caller.worker.id: caller.worker.name}
    out = [views.shift_out(s, names, [], {}, [], {}, DEFAULT_ZONE) for s in made]
    result = ClockResult(shifts=out, warnings=[note] if note else [], replayed=False)
    return 201, result.model_dump_json().encode()


def _crew_of(rows: Sequence[Any]) -> tuple[dict[int, Member], list[Nearby]]:
    """From `CLOCK_IN_READ`'s rows: the members and their nearby shifts that can overlap the
    new ones (oldest first, as `targets.crew` gives them)."""
    members: dict[int, Member] = {}
    nearby: list[Nearby] = []
    total = 0
    for record in rows:
        member, near, count = targets.member_of(record[CALLER_WIDTH:])
        if member is not None:
            members[member.id] = member
            nearby.extend(near)
            total += count
    _within_limit(total)
    nearby.sort(key=lambda n: (n.started_at, n.id))
    return members, nearby


def _within_limit(total: int) -> None:
    """The routes look at a worker's first `NEARBY_LIMIT` shifts of the window only: with that
    many, their answer may differ from one that looks at all (the route's)."""
    if total >= targets.NEARBY_LIMIT:
        raise _Declined


def _columns(table: Table, item: Any) -> dict[str, Any]:
    """The inserted columns of an instance made in full by `rawsql.instance`."""
    held = item.__dict__
    return {name: held[name] for name, _default, _call in rawsql.defaults(table)}


Read = tuple[list[ClockShift], dict[int, str], list[Delivery], dict[int, Member], list[Nearby]]


def _shifts_of(rows: Sequence[Any], client_ids: Sequence[str]) -> Read:
    """From `CLOCK_OUT_READ`'s rows: the shifts in the order asked, the names of whoever clocked
    them in, their ledger rows so far (by id), and their workers with their nearby shifts (as
    `targets.crew` gives them)."""
    found: dict[str, ClockShift] = {}
    names: dict[int, str] = {}
    ledger: dict[int, Delivery] = {}
    members: dict[int, Member] = {}
    nearby: dict[int, Nearby] = {}
    width = len(SHIFTS.columns)
    member_at = _SHIFT_AT + width + 1
    row_at = member_at + targets.MEMBER_WIDTH
    for record in rows:
        if record[_SHIFT_AT] is None:
            continue
        client_id = record[_SHIFT_AT + _CLIENT_ID]
        if client_id not in found:
            shift = found[client_id] = rawsql.load(ClockShift, record[_SHIFT_AT : _SHIFT_AT + width])
            by = record[_SHIFT_AT + width]
            if shift.clocked_in_by_id is not None and by is not None:
                names[shift.clocked_in_by_id] = by
            member, near, count = targets.member_of(record[member_at:row_at])
            _within_limit(count)
            if member is not None:
                members[member.id] = member
                nearby.update((n.id, n) for n in near)
        if record[row_at] is not None:
            row = rawsql.load(Delivery, record[row_at:])
            ledger[row.id] = row
    if any(i not in found or found[i].ended_at is not None for i in client_ids):
        raise _Declined  # unknown, re-sent or closed
    shifts = [found[i] for i in client_ids]
    return (
        shifts,
        names,
        [ledger[i] for i in sorted(ledger)],
        members,
        sorted(nearby.values(), key=lambda n: (n.started_at, n.id)),
    )


async def clock_out(
    db: Database, settings: Settings, headers: Mapping[bytes, bytes], body: bytes, renewal: Renewal[int]
) -> Answer:
    data = _parse(ClockOut, body)
    if data.injured:
        raise _Declined  # the injury report is the route's
    engine = db.engine.sync_engine
    async with db.raw() as conn:
        since = policy.window(data.ended_at - _LONGEST, data.ended_at)[0]
        until = policy.window(data.ended_at, data.ended_at)[1]
        caller, read = await _read(conn, CLOCK_OUT_READ, headers, settings, data.shift_ids, since, until)
        company_id = caller.principal.company_id
        rules = _known(policy.cached_rules(engine, company_id))
        if _known(events.cached_wants_shift_closed(engine, company_id)):
            raise _Declined  # a webhook to emit: the route's
        mine, names, prior, members, nearby = _shifts_of(read, data.shift_ids)
        if policy.window(min(s.started_at for s in mine), data.ended_at)[0] < since:
            raise _Declined  # a shift longer than a week: the route reads further back
        service.may_act_for(caller.principal, caller.worker, [s.worker_id for s in mine])
        plans = []
        for shift in mine:
            if data.ended_at < shift.started_at:
                raise _Declined
            total = service.worked(shift.started_at, data.ended_at, data.break_minutes)
            lines = service.plan_lines(
                total, data.per_shift.get(shift.client_id, data.split), shift.milestone_id
            )
            found = _known(targets.cached(engine, company_id, [line.milestone_id for line in lines]))
            renewal.note(company_id, found)
            plans.append((shift, total, lines, found))
        if any(r.status == Status.held for r in prior):
            raise _Declined  # their reasons are the route's to read
        nearby = nearby if rules.hold_overlaps else []
        company = zone(caller.time_zone)
        allocations: list[ClockAllocation] = []
        rows: list[delivery.Outbound] = []
        labels: dict[int, str] = {}
        for shift, total, lines, found in plans:
            service.close(shift, data, caller.worker)
            shift.worked_centihours = total
            allocations.extend(
                rawsql.instance(
                    ClockAllocation,
                    {
                        "company_id": company_id,
                        "shift_id": shift.id,
                        "position": n,
                        "milestone_id": line.milestone_id,
                        "centihours": line.centihours,
                    },
                )
                for n, line in enumerate(lines)
            )
            labels.update({m: t.place for m, t in found.items()})
            member = members.get(shift.worker_id)
            name = member.name if member else "This worker"
            if policy.held(rules, [shift], clocking.near_of(nearby, shift), company):
                raise _Declined
            party = member.party_id if member else None
            for row in export.allocation_rows(shift, lines, found, party, name, []):
                if row.holds:
                    raise _Declined
                rows.append(export.outbound(shift, row))
        ledger = delivery.new_rows(company_id, rows)
        now = utcnow()
        for shift in mine:
            shift.updated_at = now
        statement = conn.fetchrow(
            CLOCK_OUT_SQL,
            rawsql.to_json([{n: getattr(s, n) for n in _CLOSED_COLUMNS} for s in mine]),
            company_id,
            len(mine),
            rawsql.rows_json(ALLOCATIONS, [_columns(ALLOCATIONS, a) for a in allocations]),
            rawsql.rows_json(DELIVERIES, ledger),
        )
        if len(mine) == 1:
            closed, _, ids, subjects = await statement  # one shift: all or nothing as it is
        else:
            async with conn.transaction():  # several: a shift closed meanwhile undoes the rest
                closed, _, ids, subjects = await statement
                if closed != len(mine):
                    raise _Declined
        if closed != len(mine):
            raise _Declined
    if rows:
        delivery.wake({r.connection_id for r in rows})
    by_subject = dict(zip(subjects, ids, strict=True))
    written = [rawsql.instance(Delivery, {"id": by_subject[v["subject"]], **v}) for v in ledger]
    names |= {w: m.name for w, m in members.items()}
    out = clocking.answer_of(mine, names, allocations, labels, [*prior, *written], rows, {}, company)
    return 200, ClockResult(shifts=out, replayed=False).model_dump_json().encode()
