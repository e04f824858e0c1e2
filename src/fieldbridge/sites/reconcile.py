"""Webhooks first, reconcile as the safety net: when to look and how often (the connector's
`ReconcileFlow` says how).

Every scheduler pass, per connected connection whose connector reconciles:

- **Check** the platform's webhook delivery log (one request per 100 deliveries; the hook
  and its triggers every `HOOKS_EVERY` checks). Failed or discarded deliveries make the
  webhooks *unhealthy* and their events are processed as if they had arrived.
- **Sweep** one unit (a company list, one project's lists) when it is due: the sweep is
  spread evenly over its interval, never run as one burst.
- The intervals come from the hourly limit the platform reports (`delivery.budget`), so the
  idle cost is a set share of it whatever the limit is (`cadence`): healthy webhooks ->
  `HEALTHY_SWEEP_SHARE` (and at least `HEALTHY_SWEEP_MIN`), unhealthy -> `UNHEALTHY_SWEEP_SHARE`.
- Unhealthy means any of: a failed check, failures in the delivery log, the hook or its
  triggers missing, or a change found by the sweep that no webhook announced (counted and
  shown on the connection page). Webhooks are healthy again after `RECOVER_AFTER` without
  a bad sign.

State lives in `connection.config["reconcile"]` (see `ReconcileState`).
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fieldbridge.connections.connector import (
    ConnectorError,
    ReconcileFlow,
    ReconcileUnit,
    WebhookCheck,
    installed_registry,
)
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.delivery.budget import usage_report
from fieldbridge.delivery.models import RateBudget
from fieldbridge.inbound import service as inbound_service
from fieldbridge.inbound import tasks as inbound_tasks
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger

log = get_logger("fieldbridge.sites.reconcile")
KEY = "reconcile"
HEALTHY_SWEEP_SHARE = 0.02  # of the hourly limit, for the sweep while webhooks are healthy
UNHEALTHY_SWEEP_SHARE = 0.045
CHECK_SHARE = {True: 0.02, False: 0.025}  # delivery-log checks (healthy, unhealthy)
HOOKS_EVERY = 4  # every 4th check also reads the hook's triggers
HEALTHY_SWEEP_MIN = timedelta(hours=6)
UNHEALTHY_SWEEP_MIN = timedelta(minutes=15)
CHECK_MIN, CHECK_MAX = timedelta(seconds=60), timedelta(minutes=15)
RECOVER_AFTER = timedelta(hours=1)
RECENT = 10
BACKOFF_FIRST_SECONDS = 30


def backoff(failures: int, at_most_seconds: float) -> timedelta:
    """Wait after `failures` failures in a row: 30 s, doubling, at most `at_most_seconds`."""
    return timedelta(seconds=min(at_most_seconds, BACKOFF_FIRST_SECONDS * 2 ** max(failures - 1, 0)))


@dataclass(frozen=True)
class Cadence:
    sweep: timedelta  # one full pass over every unit
    check: timedelta  # between delivery-log checks


def cadence(hourly_limit: int, sweep_cost: int, healthy: bool) -> Cadence:
    """Intervals that keep the idle cost (sweep + checks) under a set share of `hourly_limit`."""
    limit = max(1, hourly_limit)
    share = HEALTHY_SWEEP_SHARE if healthy else UNHEALTHY_SWEEP_SHARE
    sweep = timedelta(hours=max(1, sweep_cost) / (share * limit))
    sweep = max(sweep, HEALTHY_SWEEP_MIN if healthy else UNHEALTHY_SWEEP_MIN)
    checks_per_hour = CHECK_SHARE[healthy] * limit / (1 + 1 / HOOKS_EVERY)
    check = timedelta(hours=1 / max(checks_per_hour, 1e-9))
    return Cadence(sweep, min(max(check, CHECK_MIN), CHECK_MAX))


@dataclass
class ReconcileState:
    cursor: int = 0  # the last delivery id read from the platform's log
    checks: int = 0
    checked_at: str | None = None
    healthy: bool = True
    reason: str | None = None
    bad_at: str | None = None
    unit: int = 0  # the next sweep unit
    next_unit_at: str | None = None
    sweep_started_at: str | None = None
    sweeps: int = 0
    failures: int = 0  # sweep units failed in a row (the platform down): back off
    found: int = 0  # changes found only by the sweep: no webhook announced them
    recovered: int = 0  # events recovered from the platform's delivery log
    recent: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, connection: Connection) -> "ReconcileState":
        raw = connection.config.get(KEY)
        if not isinstance(raw, dict):
            return cls()
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def bad(self, now: datetime, reason: str) -> None:
        self.healthy, self.reason, self.bad_at = False, reason, now.isoformat()

    def settle(self, now: datetime) -> None:
        """Back to healthy after RECOVER_AFTER without a bad sign."""
        if not self.healthy and self.bad_at and datetime.fromisoformat(self.bad_at) <= now - RECOVER_AFTER:
            self.healthy, self.reason = True, None

    def note(self, now: datetime, what: str) -> None:
        self.recent = ([{"at": now.isoformat(), "what": what[:200]}, *self.recent])[:RECENT]


def reconcile_flow(connection: Connection) -> ReconcileFlow | None:
    flow = installed_registry().project_sync(connection.provider)
    return flow if isinstance(flow, ReconcileFlow) else None


async def hourly_limit(db: Database, connection_id: int) -> int:
    async with db.sessionmaker() as session:
        return usage_report(await session.get(RateBudget, connection_id)).hourly_limit


async def _save(db: Database, connection_id: int, state: ReconcileState) -> None:
    async with db.transaction() as session:
        row = await ConnectionRepository.from_session(session).lock_for_job(connection_id)
        if row is not None:
            row.config = {**row.config, KEY: asdict(state)}


async def replay(
    db: Database, http: HttpClients, box: SecretBox, connection: Connection, check: WebhookCheck
) -> int:
    """Process the events the platform failed to deliver (each once: de-duplicated by key)."""
    if not check.missed:
        return 0
    async with db.transaction() as session:
        received = await inbound_service.record(session, connection, check.missed)
    await inbound_tasks.process_all(db, http, box, received.new_ids)
    return len(received.new_ids)


@dataclass(frozen=True)
class _Pass:
    db: Database
    http: HttpClients
    box: SecretBox
    connection: Connection
    flow: ReconcileFlow
    state: ReconcileState
    now: datetime


async def reconcile_pass(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    connection: Connection,
    *,
    now: datetime | None = None,
    sweep: bool = True,
) -> ReconcileState:
    """One pass for one connection: a check when due, one sweep unit when due."""
    flow = reconcile_flow(connection)
    state = ReconcileState.of(connection)
    if flow is None:
        return state
    run = _Pass(db, http, box, connection, flow, state, now or utcnow())
    state.settle(run.now)
    limit = await hourly_limit(db, connection.id)
    units = await flow.reconcile_units(db, connection)
    cost = sum(u.cost for u in units)
    if state.checked_at is None or (
        datetime.fromisoformat(state.checked_at) + cadence(limit, cost, state.healthy).check <= run.now
    ):
        await _check(run)
    due = state.next_unit_at is None or datetime.fromisoformat(state.next_unit_at) <= run.now
    if sweep and units and due:
        await _sweep_unit(run, units, cadence(limit, cost, state.healthy))
    await _save(db, connection.id, state)
    return state


async def _check(run: _Pass) -> None:
    state, now = run.state, run.now
    hooks = state.checks % HOOKS_EVERY == 0
    try:
        check = await run.flow.check_webhooks(run.db, run.http, run.box, run.connection, state.cursor, hooks)
    except ConnectorError as exc:
        state.bad(now, f"The webhook check failed: {exc.message}")
        return
    finally:
        state.checks += 1
        state.checked_at = now.isoformat()
    state.cursor = check.cursor
    if check.problem is not None:
        state.bad(now, check.problem)
    recovered = await replay(run.db, run.http, run.box, run.connection, check)
    if recovered:
        state.recovered += recovered
        state.note(now, f"{recovered} event(s) recovered from the webhook delivery log")


async def _sweep_unit(run: _Pass, units: list[ReconcileUnit], pace: Cadence) -> None:
    state, now = run.state, run.now
    index = state.unit % len(units)
    if index == 0:
        state.sweep_started_at = now.isoformat()
    unit = units[index]
    try:
        result = await run.flow.reconcile(run.db, run.http, run.box, run.connection, unit)
    except ConnectorError as exc:
        log.warning(
            "reconcile.unit_failed", connection_id=run.connection.id, unit=unit.key, error=exc.message
        )
        state.bad(now, f"Reconcile could not read {unit.key}: {exc.message}")
        state.failures += 1  # the same unit again after a wait
        state.next_unit_at = (now + backoff(state.failures, CHECK_MAX.total_seconds())).isoformat()
        return
    state.failures = 0
    if result.found:
        state.found += result.found
        state.bad(now, f"Reconcile found {result.found} change(s) that no webhook announced.")
        state.note(now, f"{unit.key}: " + "; ".join(result.found_what[:5]))
    state.unit = (index + 1) % len(units)
    if state.unit == 0:
        state.sweeps += 1
    total = sum(u.cost for u in units)
    state.next_unit_at = (now + pace.sweep * (unit.cost / total)).isoformat()


async def reconciling(db: Database, connection_id: int) -> Connection | None:
    """The connection, detached, when it is connected and its connector reconciles."""
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        if connection is None or connection.external_account_id is None:
            return None
        session.expunge(connection)
    return connection if reconcile_flow(connection) is not None else None


def health_view(connection: Connection) -> dict[str, Any] | None:
    """What the connection page shows about webhooks and reconcile (None: never reconciled)."""
    if KEY not in connection.config:
        return None
    state = ReconcileState.of(connection)

    def at(value: str | None) -> datetime | None:
        return datetime.fromisoformat(value) if value else None

    return {
        "healthy": state.healthy,
        "reason": state.reason,
        "found": state.found,
        "recovered": state.recovered,
        "sweeps": state.sweeps,
        "checked_at": at(state.checked_at),
        "next_unit_at": at(state.next_unit_at),
        "recent": [{"at": at(r.get("at")), "what": r.get("what", "")} for r in state.recent],
    }
