"""The `procrastinate` runner: PostgreSQL, `fieldbridge worker` processes on any machines.

Jobs:
- `delivery.drain(connection_id)`: calls `runner.drain`; `lock` = the connection, so one
  connection drains in one place at a time while connections drain in parallel;
  `queueing_lock` keeps at most one waiting drain per connection. Deferred right after a
  commit that enqueued rows (web process or worker), and by the sweep.
- `jobs.local_time` (periodic, FIELDBRIDGE_JOBS_CRON, queue `jobs`): runs due local-time
  jobs (`local_time`, handed in by `fieldbridge worker`: jobs/runner.py `worker_tick`, which
  calls `tick`); the run key makes it safe beside `serve`'s own loop.
- periodic tasks handed in as `Periodic` (queue `jobs`), e.g. `sites.resync` (sites/tasks.py
  `worker_resync`, FIELDBRIDGE_WORKER_RESYNC_CRON, only with FIELDBRIDGE_WORKER_RESYNC=true):
  requested syncs, queued projects and due re-syncs, for deployments whose web processes run
  no scheduler. `fieldbridge worker` hands them in; the ledger imports no domain module.
- `delivery.sweep` (periodic, every few seconds): defers a drain for every connection with
  due rows, expired leases or parked rows to resume, and finishes the jobs of workers that
  died (no heartbeat), whose `doing` row would otherwise hold the connection's lock.
A lost defer therefore only delays work until the next sweep.

Schema: `ensure_schema(database_url)` applies Procrastinate's tables once (called by
`fieldbridge db upgrade` on PostgreSQL).
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import procrastinate
from procrastinate import exceptions as procrastinate_errors
from sqlalchemy.engine import make_url

from fieldbridge.delivery import service
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.metrics import refresh_gauges
from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.delivery.runner import drain, new_owner
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients, read_timeout
from fieldbridge.kit.logging import get_logger
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.delivery.procrastinate")
QUEUE = "deliveries"
JOBS_QUEUE = "jobs"  # local-time jobs (jobs/runner.py)


def conninfo(database_url: str) -> str:
    """libpq form of a SQLAlchemy URL (`postgresql+asyncpg://...` -> `postgresql://...`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Periodic:
    """A periodic task another module hands the worker (e.g. the Procore re-sync pass), so the
    ledger's runner imports no domain module: `run(db, http, settings)` every `cron`."""

    name: str
    cron: str
    run: Callable[[Database, HttpClients, Settings], Awaitable[None]]


LocalTimeTick = Callable[[Database, str], Awaitable[object]]
"""Runs the due local-time jobs once: `(db, owner)`; jobs/runner.py `worker_tick` builds it."""


@dataclass
class WorkerContext:
    db: Database
    http: HttpClients
    settings: Settings
    config: DeliveryConfig
    owner: str


class ProcrastinateRunner:
    """The Procrastinate app with the ledger's jobs, for deferring (web) and working (worker)."""

    def __init__(
        self,
        settings: Settings,
        config: DeliveryConfig | None = None,
        periodic: Sequence[Periodic] = (),
        local_time: LocalTimeTick | None = None,
    ) -> None:
        self.settings = settings
        self.periodic = tuple(periodic)
        self.config = config or DeliveryConfig()
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
        )
        self.context: WorkerContext | None = None
        self.local_time = local_time
        self._pending: set[asyncio.Task[None]] = set()
        self._register()

    def _register_periodic(self, periodic: Periodic) -> None:
        @self.app.periodic(cron=periodic.cron, periodic_id=periodic.name)
        @self.app.task(name=periodic.name, queue=JOBS_QUEUE, queueing_lock=periodic.name, pass_context=False)
        async def periodic_job(timestamp: int) -> None:
            ctx = self.context
            assert ctx is not None, f"{periodic.name} runs inside `fieldbridge worker`"
            await periodic.run(ctx.db, ctx.http, ctx.settings)

    def _register_local_time(self, local_time: LocalTimeTick) -> None:
        @self.app.periodic(cron=self.settings.jobs_cron, periodic_id="jobs.local_time")
        @self.app.task(
            name="jobs.local_time", queue=JOBS_QUEUE, queueing_lock="jobs.local_time", pass_context=False
        )
        async def local_time_job(timestamp: int) -> None:
            ctx = self.context
            assert ctx is not None, "local-time jobs run inside `fieldbridge worker`"
            await local_time(ctx.db, ctx.owner)

    def _register(self) -> None:
        @self.app.task(name="delivery.drain", queue=QUEUE, pass_context=False)
        async def drain_job(connection_id: int) -> None:
            await self._drain(connection_id)

        @self.app.periodic(cron=self.config.sweep_cron, periodic_id="delivery.sweep")
        @self.app.task(name="delivery.sweep", queue=QUEUE, queueing_lock="delivery.sweep", pass_context=False)
        async def sweep_job(timestamp: int) -> None:
            await self.sweep()

        if self.local_time is not None:
            self._register_local_time(self.local_time)
        for periodic in self.periodic:
            self._register_periodic(periodic)

        self.drain_job = drain_job

    async def defer(self, connection_id: int) -> None:
        job = self.drain_job.configure(
            lock=f"delivery.connection.{connection_id}", queueing_lock=f"delivery.drain.{connection_id}"
        )
        with contextlib.suppress(procrastinate_errors.AlreadyEnqueued):
            await job.defer_async(connection_id=connection_id)

    def wake(self, connection_ids: set[int]) -> None:
        """After-commit hook: defer drains without blocking the committer (a lost defer only delays)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for connection_id in connection_ids:
            task = loop.create_task(self._defer_quietly(connection_id))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _defer_quietly(self, connection_id: int) -> None:
        try:
            await self.defer(connection_id)
        except Exception:
            log.warning("delivery.defer_failed", connection_id=connection_id, exc_info=True)

    async def _drain(self, connection_id: int) -> None:
        ctx = self.context
        assert ctx is not None, "drain jobs run inside `fieldbridge worker`"
        report = await drain(
            ctx.db, connection_id, http=ctx.http, settings=ctx.settings, owner=ctx.owner, config=ctx.config
        )
        if report.claimed:
            log.info(
                "delivery.drained",
                connection_id=connection_id,
                claimed=report.claimed,
                outcomes=dict(sorted(report.outcomes.items())),
                parked=report.parked,
            )
        if report.claimed and not report.parked:
            # It ran out of time, or more came in while it worked: go again (the lock keeps order).
            await self.defer(connection_id)

    async def sweep(self) -> None:
        ctx = self.context
        assert ctx is not None
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            queue=QUEUE, seconds_since_heartbeat=self.config.stalled_after_seconds
        )
        for job in stalled:
            # Its worker died. Finishing the job frees the connection's lock; its rows come
            # back when their leases expire, and the drain deferred below picks them up.
            log.warning("delivery.stalled_job_released", job_id=job.id, lock=job.lock)
            await manager.finish_job(job, procrastinate.jobs.Status.FAILED, delete_job=False)
        async with ctx.db.sessionmaker() as session:
            due = await QueueRepository.from_session(session).due_connections(utcnow())
        for connection_id in due:
            await self.defer(connection_id)
        await refresh_gauges(ctx.db)

    async def open(self) -> None:
        await self.app.open_async()
        service.add_waker(self.wake)

    async def close(self) -> None:
        service.remove_waker(self.wake)
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        await self.app.close_async()

    async def work(self, http: HttpClients | None = None, concurrency: int = 4, **options: Any) -> None:
        """Run a worker until stopped (SIGINT/SIGTERM)."""
        db = Database(self.settings.database_url)
        self.context = WorkerContext(
            db,
            http
            or HttpClients(
                timeout=read_timeout(self.config.http_timeout_seconds),
                allow_emulators=self.settings.offline_sandbox_allowed,
            ),
            self.settings,
            self.config,
            new_owner("worker"),
        )
        await self.open()
        log.info(
            "delivery.worker_started",
            database=make_url(self.settings.database_url).render_as_string(hide_password=True),
            queue=QUEUE,
            concurrency=concurrency,
            owner=self.context.owner,
        )
        try:
            await self.app.run_worker_async(
                queues=[QUEUE, JOBS_QUEUE],
                concurrency=concurrency,
                update_heartbeat_interval=self.config.heartbeat_seconds,
                stalled_worker_timeout=self.config.stalled_after_seconds,
                fetch_job_polling_interval=self.config.worker_poll_seconds,
                **options,
            )
        finally:
            await self.close()
            await db.dispose()
            log.info("delivery.worker_stopped", owner=self.context.owner)


def ensure_schema(database_url: str) -> bool:
    """Apply Procrastinate's schema to a PostgreSQL database once; True when it was applied."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return False
    import psycopg

    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").fetchone()
        if exists and exists[0]:
            return False
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=conninfo(database_url)))
    with app.open():
        app.schema_manager.apply_schema()
    return True
