"""Database plumbing: the declarative base, engine setup for SQLite and PostgreSQL, sessions.

The boundary (a request dependency or a job wrapper) owns the transaction: services take an
`AsyncSession` and never commit.
"""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.rawpool import RawPool

if TYPE_CHECKING:
    import asyncpg

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT everywhere ids live (Procore ids exceed 32 bits); SQLite only autoincrements INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant on both dialects: every value is converted to UTC on the way in (as a column
    value and as a bound parameter of a filter), and comes back timezone-aware in UTC.

    SQLite keeps a datetime as text without its offset, so a value bound as `+14:00` would be
    stored as if its wall time were UTC; converting first makes the stored text UTC wall time,
    which also sorts and compares as instants."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A pooled connection idle for longer than this is pinged before use (PostgreSQL).
PING_AFTER_IDLE_S = 10.0
_CHECKED_IN = "fieldbridge.checked_in_at"


def _ping_if_idle(engine: AsyncEngine) -> None:
    """SQLAlchemy's `pool_pre_ping`, only for a connection that sat idle in the pool: its ping is
    three round trips on asyncpg (BEGIN, a query, ROLLBACK), a third of a small request's, and
    a connection handed back a moment ago is as good as its last use. One that died while
    busy (a server restart) fails its next request, which invalidates the pool's connections
    as any lost connection does."""
    dialect = engine.sync_engine.dialect

    def checkin(_dbapi: DBAPIConnection, record: ConnectionPoolEntry | None) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    def checkout(dbapi: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return  # a new connection, or one in steady use
        try:
            alive = dialect.do_ping(dbapi)
        except Exception as exc:  # whatever the driver raises, the connection is gone
            raise DisconnectionError(str(exc)) from exc
        if not alive:
            raise DisconnectionError("the pooled connection did not answer its ping")

    event.listen(engine.sync_engine.pool, "checkin", checkin)
    event.listen(engine.sync_engine.pool, "checkout", checkout)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_if_idle(engine)
    return engine


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE


def unique_violation(exc: BaseException) -> bool:
    """A driver error (asyncpg's) for a unique index that refused a row."""
    return getattr(exc, "sqlstate", None) == UNIQUE_VIOLATION


KEPT_ROWS = "fieldbridge.kept_rows"


def keep(session: AsyncSession, *rows: object) -> None:
    """Hold loaded rows for the rest of the unit of work. The identity map holds rows weakly,
    so without this a row read early (e.g. the caller's worker, by auth) is collected and a
    later `identity_map` lookup misses and reads it again."""
    session.info.setdefault(KEPT_ROWS, []).extend(rows)


# The driver-level pool of `Database.raw` (PostgreSQL, `kit/rawpool.py`): the phone's two
# calls, at most one connection each, and nothing else; the ORM's pool keeps its own size.
RAW_POOL_MAX = 10
# Its statements are few, fixed and keyed on indexed columns: one generic plan per connection
# serves them as well as a custom one, which PostgreSQL would otherwise plan on every call
# (a few milliseconds of its CPU each for a statement that runs in well under one).
RAW_SERVER_SETTINGS = {"plan_cache_mode": "force_generic_plan"}
RawSetup = Callable[["asyncpg.Connection"], Awaitable[None]]


class Database:
    """An engine plus its session factory; one per process."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._raw_pool: RawPool | None = None
        # Run on each new connection of `raw`'s pool (a hot path prepares its statements).
        self.raw_setup: list[RawSetup] = []

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commit on success, roll back on any exception."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def raw(self) -> "AsyncIterator[asyncpg.Connection]":
        """A connection of the PostgreSQL driver itself (asyncpg), from a small pool of its own
        (`kit/rawpool.py`), for a hot path whose statements are few and fixed: prepared once
        per connection, no ORM, no async adapter. Statements run in autocommit unless the
        caller opens `conn.transaction()`. Writes through it do not reach `kit/cache.py`'s
        invalidation, so it must not write a table a `ProcessCache` watches. PostgreSQL only."""
        if self.is_sqlite:
            raise RuntimeError("Database.raw is for PostgreSQL; SQLite goes through the session")
        async with self._pool().connection() as conn:
            yield conn

    def _pool(self) -> RawPool:
        if self._raw_pool is None:
            url = make_url(self.url).set(drivername="postgresql")
            self._raw_pool = RawPool(
                url.render_as_string(hide_password=False), RAW_POOL_MAX, self._set_up_raw, RAW_SERVER_SETTINGS
            )
        return self._raw_pool

    async def _set_up_raw(self, conn: "asyncpg.Connection") -> None:
        for setup in self.raw_setup:
            await setup(conn)

    async def warm(self, connections: int) -> None:
        """Open up to `connections` pooled connections now (PostgreSQL), so the first requests
        after start-up do not each pay for a connection of their own."""
        if self.is_sqlite:
            return
        opened = [await self.engine.connect() for _ in range(connections)]
        for conn in opened:
            await conn.close()
        if self.raw_setup:  # a hot path will use `raw`: its connections, set up, before the first call
            await self._pool().fill(connections)

    async def dispose(self) -> None:
        if self._raw_pool is not None:
            pool, self._raw_pool = self._raw_pool, None
            await pool.close()
        await self.engine.dispose()
