"""The small pool of driver connections behind `Database.raw` (PostgreSQL, asyncpg).

asyncpg's own pool does more per call than a hot path of two statements needs: each release
runs in a task of its own (`asyncio.shield`) with a reset, about 40 microseconds of CPU a
call. This one hands out idle connections last-in first-out and takes them back at once.

A connection goes back to the idle list only when it is open, outside a transaction and its
user let go of it normally or after an error of the server's (a unique violation, say): the
connection is then idle and sound. After anything else (a cancellation mid-statement, a
broken socket, a driver error) it is terminated and a new one is opened for the next call; a
broken socket or driver error reaches the caller as `ConnectionLost`. A connection idle for
`MAX_IDLE_SECONDS` is closed rather than handed out (as asyncpg's pool does), so the first
call after a quiet night does not meet a connection a firewall dropped meanwhile.

Nothing waits for ever: a statement that takes longer than `STATEMENT_SECONDS` (a lock held
elsewhere, a socket that went silent without a reset) is given up as `ConnectionLost`, and a
caller that gets no connection within `WAIT_SECONDS` (all of them busy) gets `PoolBusy`. An
error of the server's that the caller did not handle itself reaches it as `StatementRefused`.
Each is a `RawFailure`: a hot path can hand the work to its slower path, which answers it.
"""

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg


MAX_IDLE_SECONDS = 300.0
STATEMENT_SECONDS = 10.0
WAIT_SECONDS = 5.0


class RawFailure(Exception):
    """A statement on a pooled connection did not run to its end; `event` names why in logs."""

    event = "raw_failure"


class ConnectionLost(RawFailure):
    """The connection broke under a statement (socket or driver) or the statement timed out;
    whether the server ran it is unknown."""

    event = "connection_lost"


class StatementRefused(RawFailure):
    """The server refused a statement (a deadlock, a constraint, a value it cannot store): it
    and the transaction around it were undone, and the connection is sound."""

    event = "statement_refused"

    def __init__(self, exc: BaseException) -> None:
        self.sqlstate: str | None = getattr(exc, "sqlstate", None)
        super().__init__(f"{self.sqlstate}: {exc}")


class PoolBusy(RawFailure):
    """No connection was free within `WAIT_SECONDS`; nothing was sent."""

    event = "pool_busy"


class RawPool:
    def __init__(
        self,
        dsn: str,
        size: int,
        setup: Callable[["asyncpg.Connection"], Awaitable[None]],
        server_settings: dict[str, str],
    ) -> None:
        self._dsn = dsn
        self._size = size
        self._setup = setup
        self._server_settings = server_settings
        self._idle: list[tuple[asyncpg.Connection, float]] = []  # with when it was handed back
        self._open = 0
        # Callers waiting for a connection: given one, or None when a slot was freed for them.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closed = False

    @asynccontextmanager
    async def connection(self) -> "AsyncIterator[asyncpg.Connection]":
        import asyncpg

        conn = await self._acquire()
        try:
            yield conn
        except Exception as exc:
            # The server's refusal of a statement (a unique violation, say) or the caller's own
            # exception between statements leave the connection idle and sound; a closed
            # connection, a socket or driver error do not.
            lost = conn.is_closed() or isinstance(
                exc, asyncpg.InterfaceError | asyncpg.InternalClientError | OSError
            )
            self._release(conn, not lost)
            if lost:
                raise ConnectionLost(str(exc) or type(exc).__name__) from exc
            if isinstance(exc, asyncpg.PostgresError):
                raise StatementRefused(exc) from exc
            raise
        except BaseException:
            self._release(conn, False)  # cancelled, perhaps mid-statement
            raise
        self._release(conn, True)

    async def _acquire(self) -> "asyncpg.Connection":
        if self._closed:
            raise RuntimeError("the raw pool is closed")
        while True:
            while self._idle:
                conn, since = self._idle.pop()
                if not conn.is_closed() and time.monotonic() - since < MAX_IDLE_SECONDS:
                    return conn
                conn.terminate()
                self._open -= 1
            if self._open < self._size:
                return await self._connect()
            waiter: asyncio.Future[asyncpg.Connection | None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(WAIT_SECONDS):
                    given = await waiter
            except (asyncio.CancelledError, TimeoutError) as exc:
                if waiter.done() and not waiter.cancelled() and waiter.result() is not None:
                    self._release(waiter.result(), True)  # handed over as the caller gave up
                elif waiter.done() and not waiter.cancelled():
                    self._wake()  # the freed slot goes to the next one
                if isinstance(exc, TimeoutError):
                    raise PoolBusy(f"no connection free within {WAIT_SECONDS:g} s") from None
                raise
            if given is not None:
                return given

    async def _connect(self) -> "asyncpg.Connection":
        import asyncpg

        self._open += 1
        conn: Any = None
        try:
            conn = await asyncpg.connect(
                self._dsn, server_settings=self._server_settings, command_timeout=STATEMENT_SECONDS
            )
            await self._setup(conn)
            return conn
        except BaseException:
            self._open -= 1
            if conn is not None:
                conn.terminate()
            self._wake()
            raise

    def _release(self, conn: "asyncpg.Connection", sound: bool) -> None:
        if self._closed or not sound or conn.is_closed() or conn.is_in_transaction():
            conn.terminate()
            self._open -= 1
            self._wake()
            return
        if not self._hand_over(conn):
            self._idle.append((conn, time.monotonic()))

    def _wake(self) -> None:
        """A slot is free: the first waiter opens a connection of its own."""
        self._hand_over(None)

    def _hand_over(self, given: "asyncpg.Connection | None") -> bool:
        """To the first caller still waiting, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(given)
                return True
        return False

    async def fill(self, count: int) -> None:
        """Open connections (set up) until `count` are open, or the pool is full."""
        while self._open < min(count, self._size):
            self._idle.append((await self._connect(), time.monotonic()))

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _since in idle:
            self._open -= 1
            await conn.close()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RuntimeError("the raw pool is closed"))
