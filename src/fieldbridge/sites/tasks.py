"""Job entry points of project sync, and the periodic scheduler `fieldbridge serve` runs.

- `sync_connection(...)`: discover projects and sync the tracked ones (first sync: full;
  afterwards: incremental). Used by the scheduler, `fieldbridge procore sync` and the bench.
- `sync_queued(...)`: run every project waiting in `queued` (a toggle, a webhook).
- `request_sync(...)` / `run_requested_syncs(...)`: "sync now" and the first listing of a
  company's projects as a job (a request records it; the scheduler runs it).
- `run_sync_scheduler(app_state)`: the loop. Every `poll_seconds` it runs queued projects;
  for a connector that reconciles (Procore) it runs `sites.reconcile` (webhook checks and one
  sweep unit when due, paced by the budget's hourly limit); for any other it re-syncs every
  `interval_seconds` (default 15 minutes). A failing step backs off: 30 s, 1, 2, 4 ...
  minutes. Start
  it once per deployment from `fieldbridge serve`'s lifespan, e.g.::

      task = asyncio.create_task(run_sync_scheduler(app.state))
      ...
      task.cancel()

  Running it in several processes is safe (refresh and budgets lock per connection) but
  wasteful; a project's rows are written in short transactions, so readers never block.
"""

import asyncio
import weakref
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import ConnectorError, SyncRequest, installed_registry
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.ratelimit import Priority
from fieldbridge.settings import Settings
from fieldbridge.sites import reconcile
from fieldbridge.sites.models import SyncState
from fieldbridge.sites.repository import SitesRepository

log = get_logger("fieldbridge.sites.tasks")
DEFAULT_INTERVAL_SECONDS = 15 * 60
RESYNC_BACKOFF_KEYS = ("resync_failures", "resync_retry_at")


@dataclass
class SyncResult:
    connection_id: int
    projects_synced: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


_LOCKS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]]" = (
    weakref.WeakKeyDictionary()
)


def connection_lock(connection_id: int) -> asyncio.Lock:
    """One sync at a time per connection in this process (a webhook-triggered sync and a
    scheduled one would otherwise race over the same rows)."""
    locks = _LOCKS.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(connection_id, asyncio.Lock())


async def sync_connection(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    connection_id: int,
    *,
    project_ids: Sequence[int] | None = None,
    discover: bool = True,
    full: bool = False,
    base_url: str | None = None,
    paced: bool = True,
    on_project: Callable[[int], Any] | None = None,
    priority: Priority = Priority.change,
) -> SyncResult:
    """Sync one connection through its connector's project sync flow. Raises `NeedsReconnect`
    when it needs an admin; other failures are recorded on the projects they hit and listed in
    the result. `priority`: its class in the connection's rate budget."""
    async with connection_lock(connection_id):
        return await _sync_connection(
            db,
            http,
            box,
            connection_id,
            project_ids,
            SyncRequest(project_ids, discover, full, base_url, paced, on_project, priority),
        )


async def _sync_connection(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    connection_id: int,
    project_ids: Sequence[int] | None,
    request: SyncRequest,
) -> SyncResult:
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).get_for_job(connection_id)
        if connection is None or connection.status != ConnectionStatus.connected:
            return SyncResult(connection_id)
        session.expunge(connection)
    flow = installed_registry().project_sync(connection.provider)
    outcome = await flow.sync(db, http, box, connection, request)
    return SyncResult(connection_id, outcome.projects_synced, outcome.requests, outcome.failures)


def _sync_providers() -> list[str]:
    """The providers whose connectors offer project sync."""
    return [p for p, spec in installed_registry().specs.items() if spec.project_sync is not None]


async def _syncable(session: AsyncSession) -> list[Connection]:
    """Connected connections of every provider that syncs projects."""
    repo = ConnectionRepository.from_session(session)
    return [c for provider in _sync_providers() for c in await repo.list_syncable(provider)]


async def sync_queued(db: Database, http: HttpClients, box: SecretBox, *, base_url: str | None = None) -> int:
    """Sync every queued project (grouped per connection); returns how many ran."""
    async with db.transaction() as session:
        queued = await SitesRepository.from_session(session).queued_projects()
        by_connection: dict[int, list[int]] = defaultdict(list)
        for project in queued:
            by_connection[project.connection_id].append(project.id)
    ran = 0
    for connection_id, ids in by_connection.items():
        try:
            result = await sync_connection(
                db, http, box, connection_id, project_ids=ids, discover=False, base_url=base_url
            )
            ran += result.projects_synced
        except ConnectorError as exc:
            log.warning("procore.queued_sync_failed", connection_id=connection_id, error=exc.message)
            await _mark_failed(db, ids, exc.message)
    return ran


async def _mark_failed(db: Database, ids: Sequence[int], message: str) -> None:
    async with db.transaction() as session:
        repo = SitesRepository.from_session(session)
        for project_id in ids:
            row = await repo.project_for_job(project_id)
            if row is not None and row.sync_state in (SyncState.queued, SyncState.running):
                row.sync_state, row.sync_error = SyncState.failed, message


def resync_backoff(failures: int, interval_seconds: float) -> timedelta:
    """Wait after `failures` failed re-syncs in a row: 30 s, doubling, at most the interval."""
    return reconcile.backoff(failures, interval_seconds)


def _resync_is_due(config: dict[str, Any], now: datetime, interval_seconds: float) -> bool:
    retry_at = config.get("resync_retry_at")
    if retry_at and datetime.fromisoformat(retry_at) > now:
        return False  # backing off after failures
    synced = config.get("projects_synced_through")
    return not synced or datetime.fromisoformat(synced) <= now - timedelta(seconds=interval_seconds)


async def _record_resync(
    db: Database, connection_id: int, now: datetime, interval_seconds: float, error: str | None
) -> None:
    """Count failed re-syncs in a row on the connection (and when to try again); a success clears it."""
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).lock_for_job(connection_id)
        if connection is None or (error is None and "resync_failures" not in connection.config):
            return
        config = {k: v for k, v in connection.config.items() if k not in RESYNC_BACKOFF_KEYS}
        if error is not None:
            failures = int(connection.config.get("resync_failures", 0)) + 1
            retry_at = now + resync_backoff(failures, interval_seconds)
            config |= {"resync_failures": failures, "resync_retry_at": retry_at.isoformat()}
            log.warning(
                "procore.resync_failed",
                connection_id=connection_id,
                error=error,
                failures=failures,
                retry_at=retry_at.isoformat(),
            )
        connection.config = config


async def resync_due(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    *,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[SyncResult]:
    """The safety net of each connected connection. Where the connector reconciles
    (`sites.reconcile`): a pass of webhook checks and sweep units paced by the budget, after a
    first sync. Otherwise a re-sync once the last is older than the interval. A connection
    whose re-sync failed waits `resync_backoff` before the next try."""
    now = now or utcnow()
    async with db.transaction() as session:
        connections = await _syncable(session)
        for c in connections:
            session.expunge(c)
    results = []
    for connection in connections:
        if connection.external_account_id is None:
            continue
        first_done = bool(connection.config.get("projects_synced_through"))
        if first_done and reconcile.reconcile_flow(connection) is not None:
            await _reconcile(db, http, box, connection, base_url, now)
            continue
        if not _resync_is_due(connection.config, now, interval_seconds):
            continue
        try:
            results.append(
                await sync_connection(
                    db, http, box, connection.id, base_url=base_url, priority=Priority.reconcile
                )
            )
        except ConnectorError as exc:
            await _record_resync(db, connection.id, now, interval_seconds, exc.message)
        else:
            await _record_resync(db, connection.id, now, interval_seconds, None)
    return results


async def _reconcile(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    connection: Connection,
    base_url: str | None,
    now: datetime,
) -> None:
    try:
        await reconcile.reconcile_pass(db, http, box, connection, now=now)
        if base_url and "webhook_hook_id" not in connection.config:  # never registered, or gone
            await sync_connection(
                db, http, box, connection.id, project_ids=[], discover=False, base_url=base_url
            )
    except ConnectorError as exc:
        log.warning("procore.reconcile_failed", connection_id=connection.id, error=exc.message)


# "Sync now" / "list the company's projects" as a job: the request records it on the
# connection (config["sync_job"]) and returns; the scheduler (or the request's background
# kick, after its commit) runs it. A job left `running` by a process that died is run again
# after SYNC_JOB_STALE.
SYNC_JOB_KEY = "sync_job"
SYNC_JOB_STALE = timedelta(minutes=30)
PENDING = ("queued", "running")


def sync_job(connection: Connection) -> dict[str, Any]:
    """The connection's last requested sync: {state, discover_only, requested_at, ...}, or {}."""
    job = connection.config.get(SYNC_JOB_KEY)
    return dict(job) if isinstance(job, dict) else {}


def sync_job_pending(job: dict[str, Any], now: datetime | None = None) -> bool:
    if job.get("state") == "queued":
        return True
    started = job.get("started_at")
    return (
        job.get("state") == "running"
        and started is not None
        and datetime.fromisoformat(started) > (now or utcnow()) - SYNC_JOB_STALE
    )


def _needs_running(job: dict[str, Any], now: datetime) -> bool:
    """Queued, or left running by a process that died (stale)."""
    return job.get("state") == "queued" or (job.get("state") == "running" and not sync_job_pending(job, now))


def request_sync(connection: Connection, *, discover_only: bool) -> dict[str, Any]:
    """Ask for a sync of `connection` (in the caller's transaction). A pending one absorbs it
    (a full sync asked for while a listing waits widens the waiting job)."""
    job = sync_job(connection)
    if sync_job_pending(job):
        if job.get("state") == "queued" and job.get("discover_only") and not discover_only:
            job["discover_only"] = False
            connection.config = {**connection.config, SYNC_JOB_KEY: job}
        return job
    job = {"state": "queued", "discover_only": discover_only, "requested_at": utcnow().isoformat()}
    connection.config = {**connection.config, SYNC_JOB_KEY: job}
    return job


async def _set_sync_job(db: Database, connection_id: int, changes: dict[str, Any], *, claim: bool) -> bool:
    async with db.transaction() as session:
        connection = await ConnectionRepository.from_session(session).lock_for_job(connection_id)
        if connection is None:
            return False
        job = sync_job(connection)
        if claim and not _needs_running(job, utcnow()):
            return False  # someone else took it (or it finished) since we looked
        connection.config = {**connection.config, SYNC_JOB_KEY: {**job, **changes}}
        return True


async def run_requested_syncs(
    db: Database, http: HttpClients, box: SecretBox, *, base_url: str | None = None
) -> int:
    """Run every requested connection sync (and any left running by a dead process)."""
    now = utcnow()
    async with db.transaction() as session:
        connections = await _syncable(session)
        waiting = [(c.id, sync_job(c)) for c in connections if _needs_running(sync_job(c), now)]
    ran = 0
    for connection_id, job in waiting:
        if not await _set_sync_job(
            db, connection_id, {"state": "running", "started_at": utcnow().isoformat()}, claim=True
        ):
            continue
        outcome: dict[str, Any]
        try:
            result = await sync_connection(
                db,
                http,
                box,
                connection_id,
                project_ids=[] if job.get("discover_only") else None,
                base_url=base_url,
            )
            outcome = {"state": "done", "error": None, "projects_synced": result.projects_synced}
        except ConnectorError as exc:
            outcome = {"state": "failed", "error": exc.message}
        except Exception:  # logged with context; the page says to try again
            log.exception("procore.sync_job_failed", connection_id=connection_id)
            outcome = {"state": "failed", "error": "The sync stopped on an unexpected error; try again."}
        await _set_sync_job(db, connection_id, {**outcome, "finished_at": utcnow().isoformat()}, claim=False)
        ran += 1
    return ran


async def scheduler_pass(
    db: Database,
    http: HttpClients,
    box: SecretBox,
    *,
    base_url: str | None,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
) -> None:
    """One pass of the periodic sync work: requested syncs, queued projects, due re-syncs.
    `serve` runs it every few seconds (FIELDBRIDGE_SCHEDULER); `fieldbridge worker` runs it as
    the Procrastinate periodic task `sites.resync` when FIELDBRIDGE_WORKER_RESYNC is on."""
    await run_requested_syncs(db, http, box, base_url=base_url)
    await sync_queued(db, http, box, base_url=base_url)
    await resync_due(db, http, box, interval_seconds=interval_seconds, base_url=base_url)


async def run_sync_scheduler(
    app_state: Any,
    *,
    interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
    poll_seconds: float = 5.0,
    stop: asyncio.Event | None = None,
) -> None:
    """The periodic loop (see the module docstring). `app_state` is FastAPI's `app.state`
    (it needs `.db`, `.http` and `.settings`)."""
    db: Database = app_state.db
    http: HttpClients = app_state.http
    settings = app_state.settings
    box = SecretBox(settings.secret)
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            await scheduler_pass(db, http, box, base_url=settings.base_url, interval_seconds=interval_seconds)
        except Exception:  # the loop must survive anything; the error is logged with context
            log.exception("procore.scheduler_pass_failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            continue


async def worker_resync(db: Database, http: HttpClients, settings: Settings) -> None:
    """The re-sync pass as `fieldbridge worker`'s periodic task `sites.resync`."""
    await scheduler_pass(
        db,
        http,
        SecretBox(settings.secret),
        base_url=settings.base_url,
        interval_seconds=settings.sync_interval_seconds,
    )
