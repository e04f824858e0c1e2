"""The `local` runner: asyncio tasks inside `fieldbridge serve` (SQLite or PostgreSQL).

Up to `drains_per_connection` tasks per connection with due work (one on SQLite, whose single
writer gains nothing from more), each calling `runner.drain`; woken right after a commit that
enqueued rows (see `service.add_waker`): a wake while every drain of the connection is busy
starts one more, so a request in flight never holds up the next row, and a drain that runs
out of work lingers `linger_seconds` for the next wake instead of ending (a burst of commits
costs one drain's set-up, not one per commit). Otherwise it polls every
`poll_seconds` for retries that came due, expired leases and parked rows to resume. Drains of
one connection never deliver the same row or a subject out of order: claims skip locked rows,
a row waits while an earlier row of its subject is open, and leases fence the results.
Several `serve` processes on one PostgreSQL database are safe: claims skip locked rows and
leases fence the results, though the `procrastinate` runner is the way to scale out.
"""

import asyncio
import contextlib

from fieldbridge.delivery import service
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.metrics import refresh_gauges
from fieldbridge.delivery.repository import QueueRepository
from fieldbridge.delivery.runner import drain, new_owner
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.delivery.local")
GAUGE_EVERY_SECONDS = 15.0


class LocalRunner:
    def __init__(
        self, db: Database, http: HttpClients, settings: Settings, config: DeliveryConfig | None = None
    ) -> None:
        self.db = db
        self.http = http
        self.settings = settings
        self.config = config or DeliveryConfig()
        self.owner = new_owner("local")
        self.tasks: dict[int, set[asyncio.Task[None]]] = {}
        self.per_connection = 1 if db.is_sqlite else self.config.drains_per_connection
        self.again: set[int] = set()
        self.idle: dict[int, list[asyncio.Future[bool]]] = {}  # drains lingering for more work
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None
        # Set by `stop` before it cancels: a loop whose cancellation a database call swallowed
        # (seen with aiosqlite under load: the poll went on forever and `stop` waited for it)
        # still ends at its next turn.
        self._stopping = False

    def wake(self, connection_ids: set[int]) -> None:
        """Called after a commit that enqueued rows (any thread)."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._wake, set(connection_ids))

    def _wake(self, connection_ids: set[int]) -> None:
        for connection_id in connection_ids:
            self._start(connection_id)

    async def start(self) -> None:
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        service.add_waker(self.wake)
        self._main = asyncio.create_task(self._run(), name="fieldbridge-local-runner")

    async def stop(self) -> None:
        self._stopping = True
        service.remove_waker(self.wake)
        drains = [t for running in self.tasks.values() for t in running]
        tasks = [t for t in (self._main, *drains) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None

    async def _run(self) -> None:
        """The poll: retries that came due, expired leases, parked rows to resume."""
        last_gauges = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                async with self.db.sessionmaker() as session:
                    due = set(await QueueRepository.from_session(session).due_connections(utcnow()))
                if loop.time() - last_gauges > GAUGE_EVERY_SECONDS:
                    await refresh_gauges(self.db)
                    last_gauges = loop.time()
            except Exception:  # the database may be briefly away; keep the runner alive
                log.exception("delivery.local.poll_failed")
                due = set()
            for connection_id in due:
                self._start(connection_id)
            await asyncio.sleep(self.config.poll_seconds)

    def _start(self, connection_id: int) -> None:
        """Hand new work to a lingering drain, else start one more (up to `per_connection`),
        else tell the busy ones to look again."""
        idle = self.idle.get(connection_id, [])
        while idle:
            waiting = idle.pop(0)
            if not waiting.done():
                waiting.set_result(True)
                return
        running = self.tasks.setdefault(connection_id, set())
        if len(running) >= self.per_connection:
            self.again.add(connection_id)
            return
        running.add(asyncio.create_task(self._drain(connection_id)))

    async def _more(self, connection_id: int, seconds: float) -> bool:
        """A drain that found nothing waits up to `linger_seconds` for a wake: a burst of
        commits is served by the drain already open, without a new one's set-up."""
        if self._stopping:
            return False
        if connection_id in self.again:
            self.again.discard(connection_id)
            return True
        waiting: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.idle.setdefault(connection_id, []).append(waiting)
        try:
            return await asyncio.wait_for(waiting, timeout=min(seconds, self.config.linger_seconds))
        except TimeoutError:
            return False
        finally:
            idle = self.idle.get(connection_id)
            if idle and waiting in idle:
                idle.remove(waiting)

    async def _drain(self, connection_id: int) -> None:
        async def more(seconds: float) -> bool:
            return await self._more(connection_id, seconds)

        try:
            while not self._stopping:
                self.again.discard(connection_id)
                report = await drain(
                    self.db,
                    connection_id,
                    http=self.http,
                    settings=self.settings,
                    owner=self.owner,
                    config=self.config,
                    more=more,
                )
                if connection_id not in self.again and (report.idle or report.parked):
                    break
        except Exception:
            log.exception("delivery.local.drain_failed", connection_id=connection_id)
        finally:
            running = self.tasks.get(connection_id, set())
            running.discard(asyncio.current_task())
            if not running:
                self.tasks.pop(connection_id, None)
