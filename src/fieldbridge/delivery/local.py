"""The `local` runner: asyncio tasks inside `fieldbridge serve` (SQLite or PostgreSQL).

One task per connection with due work, each calling `runner.drain`; woken right after a
commit that enqueued rows (see `service.add_waker`) and otherwise polling every
`poll_seconds` for retries that came due, expired leases and parked rows to resume.
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
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.again: set[int] = set()
        self.woken: set[int] = set()
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Task[None] | None = None

    def wake(self, connection_ids: set[int]) -> None:
        """Called after a commit that enqueued rows (any thread)."""
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._wake, set(connection_ids))

    def _wake(self, connection_ids: set[int]) -> None:
        self.woken |= connection_ids
        self._event.set()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        service.add_waker(self.wake)
        self._main = asyncio.create_task(self._run(), name="fieldbridge-local-runner")

    async def stop(self) -> None:
        service.remove_waker(self.wake)
        tasks = [t for t in (self._main, *self.tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop = None

    async def _run(self) -> None:
        last_gauges = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                async with self.db.sessionmaker() as session:
                    due = set(await QueueRepository.from_session(session).due_connections(utcnow()))
                if loop.time() - last_gauges > GAUGE_EVERY_SECONDS:
                    await refresh_gauges(self.db)
                    last_gauges = loop.time()
            except Exception:  # the database may be briefly away; keep the runner alive
                log.exception("delivery.local.poll_failed")
                due = set()
            due |= self.woken
            self.woken = set()
            for connection_id in due:
                self._start(connection_id)
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), timeout=self.config.poll_seconds)

    def _start(self, connection_id: int) -> None:
        if connection_id in self.tasks:
            self.again.add(connection_id)
            return
        self.tasks[connection_id] = asyncio.create_task(self._drain(connection_id))

    async def _drain(self, connection_id: int) -> None:
        try:
            while True:
                self.again.discard(connection_id)
                report = await drain(
                    self.db,
                    connection_id,
                    http=self.http,
                    settings=self.settings,
                    owner=self.owner,
                    config=self.config,
                )
                if connection_id not in self.again and (report.claimed == 0 or report.parked):
                    break
        except Exception:
            log.exception("delivery.local.drain_failed", connection_id=connection_id)
        finally:
            self.tasks.pop(connection_id, None)
