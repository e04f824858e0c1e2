"""A small per-process cache of what changes rarely, for hot paths (a phone's clock-in reads a
company's Procore connection, its milestones and its time policy on every call).

    connections = ProcessCache[int, int | None]("clock_in.connection", tables={"connections"})
    found = connections.get(session, company_id)       # MISSING when not cached (or expired)
    if found is MISSING:
        stamp = connections.stamp(session)
        found = await read_it(session, company_id)
        connections.put(session, company_id, found, stamp)

Entries are kept per engine (a fresh `Database`, e.g. each test's, starts empty) for at most
`ttl` seconds. Invalidation is explicit: every INSERT, UPDATE or DELETE this process sends to a
watched table, through any engine of the same database (ORM flushes, Core and text statements
alike), drops the caches watching it at once, again when that transaction commits or rolls
back, and once more when its connection is back in the pool (the commit has then landed, so a
request that read the old row meanwhile cannot leave it cached); TRUNCATE, DROP and ALTER drop
every cache. A value read while an invalidation happened
(`stamp`) is not stored. What another process changes is seen within `ttl` seconds.

A hot path that reads with `peek` and leaves a miss to its route keeps its entries alive with
a `Renewal`: in the background, at most every `RENEW_EVERY` seconds per key, it reads again
what is in the last `RENEW_SHARE` of its life (a session marked `renewing`), so steady traffic
never meets an expired entry, and no entry is older than `ttl` either.
"""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Hashable, Iterable
from enum import Enum
from typing import Any, Final, Generic, Literal, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry, Pool

from fieldbridge.kit.logging import get_logger

log = get_logger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class _Missing(Enum):
    MISSING = "MISSING"


MISSING: Final = _Missing.MISSING
DEFAULT_TTL = 10.0
MAX_ENTRIES = 10_000  # per cache and engine; a full cache starts over
# A `renewing` session reads again an entry with less than this share of its `ttl` left...
RENEW_SHARE = 0.5
# ...and a `Renewal` runs at most this often per key, so an entry is renewed before it expires.
RENEW_EVERY = DEFAULT_TTL * RENEW_SHARE / 2
_RENEWING = "fieldbridge.cache.renewing"

_WRITE = re.compile(r'(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)', re.IGNORECASE)
_WIPE = re.compile(r"(?:TRUNCATE|DROP|ALTER)\b", re.IGNORECASE)
# On a pooled connection: (its engine, the caches its open transaction wrote under).
_DIRTY = "fieldbridge.cache.dirty"


class _Store(Generic[K, V]):
    __slots__ = ("entries", "generation")

    def __init__(self) -> None:
        self.entries: dict[K, tuple[float, V]] = {}
        self.generation = 0

    def clear(self) -> None:
        self.entries.clear()
        self.generation += 1


class ProcessCache(Generic[K, V]):
    def __init__(self, name: str, *, tables: Iterable[str], ttl: float = DEFAULT_TTL) -> None:
        self.name = name
        self.tables = frozenset(tables)
        self.ttl = ttl
        self._stores: WeakKeyDictionary[Engine, _Store[K, V]] = WeakKeyDictionary()
        _CACHES.append(self)

    def _store(self, session: AsyncSession) -> _Store[K, V]:
        engine = session.bind.sync_engine  # type: ignore[union-attr]
        store = self._stores.get(engine)
        if store is None:
            store = self._stores[engine] = _Store()
        return store

    def get(self, session: AsyncSession, key: K) -> V | Literal[_Missing.MISSING]:
        found = self._store(session).entries.get(key)
        if found is None:
            return MISSING
        left = found[0] - time.monotonic()
        if left <= 0 or (left < self.ttl * RENEW_SHARE and session.info.get(_RENEWING)):
            return MISSING
        return found[1]

    def peek(self, engine: Engine, key: K) -> V | Literal[_Missing.MISSING]:
        """`get` without a session (a hot path on the driver connection): `engine` is the
        `sync_engine` of the session's engine."""
        store = self._stores.get(engine)
        found = None if store is None else store.entries.get(key)
        if found is None or found[0] <= time.monotonic():
            return MISSING
        return found[1]

    def stamp(self, session: AsyncSession) -> int:
        """Take before reading what `put` will store: a store that was invalidated since refuses it."""
        return self._store(session).generation

    def put(self, session: AsyncSession, key: K, value: V, stamp: int) -> None:
        store = self._store(session)
        if store.generation != stamp:
            return
        if len(store.entries) >= MAX_ENTRIES:
            store.entries.clear()
        store.entries[key] = (time.monotonic() + self.ttl, value)

    def clear(self, engine: Engine | None = None) -> None:
        """Drop what is cached (for `engine`'s database, or everywhere)."""
        for known, store in list(self._stores.items()):
            if engine is None or known is engine or known.url == engine.url:
                store.clear()


_CACHES: list[ProcessCache[Any, Any]] = []


def renewing(session: AsyncSession) -> None:
    """Mark a session as a renewal's: its `get` misses entries in the last `RENEW_SHARE` of
    their life, so the usual read-and-`put` reads them again."""
    session.info[_RENEWING] = True


class Renewal(Generic[K]):
    """Runs `renew(key, items)` in the background when a hot path `note`s a call for `key`, at
    most every `every` seconds per key and one at a time, with the items noted since the last
    run. A failed renewal is logged; the entries then expire and the full path reads them."""

    def __init__(
        self, renew: Callable[[K, frozenset[Hashable]], Awaitable[None]], every: float = RENEW_EVERY
    ) -> None:
        self._renew = renew
        self.every = every
        self._next: dict[K, float] = {}
        self._noted: dict[K, set[Hashable]] = {}
        self._running: dict[K, asyncio.Task[None]] = {}

    def note(self, key: K, items: Iterable[Hashable] = ()) -> None:
        noted = self._noted.get(key)
        if noted is None:
            if len(self._noted) >= MAX_ENTRIES:
                self._noted.clear()
            noted = self._noted[key] = set()
        noted.update(items)
        now = time.monotonic()
        if key in self._running or now < self._next.get(key, 0.0):
            return
        if len(self._next) >= MAX_ENTRIES:
            self._next.clear()
        self._next[key] = now + self.every
        task = asyncio.get_running_loop().create_task(self._run(key, frozenset(self._noted.pop(key))))
        self._running[key] = task
        task.add_done_callback(lambda _done: self._running.pop(key, None))

    async def _run(self, key: K, items: frozenset[Hashable]) -> None:
        try:
            await self._renew(key, items)
        except Exception:
            log.warning("cache.renewal_failed", key=str(key), exc_info=True)

    async def wait(self) -> None:
        """Until the renewals running now are done (a test that checks what they did)."""
        await asyncio.gather(*self._running.values(), return_exceptions=True)


def _watching(statement: str) -> list[ProcessCache[Any, Any]]:
    head = statement.lstrip()[:10]
    if not head or head[0] not in "IUDTAiudta":
        return []
    if _WIPE.match(head):
        return list(_CACHES)
    match = _WRITE.match(statement.lstrip())
    if match is None:
        return []
    table = match.group(1).lower()
    return [c for c in _CACHES if table in c.tables]


@event.listens_for(Engine, "after_cursor_execute")
def _after_write(
    conn: Connection, _cursor: Any, statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    caches = _watching(statement)
    if not caches:
        return
    for cache in caches:
        cache.clear(conn.engine)
    _engine, dirty = conn.info.setdefault(_DIRTY, (conn.engine, set()))
    dirty.update(caches)


def _clear_dirty(info: dict[Any, Any], *, done: bool) -> None:
    found = info.pop(_DIRTY, None) if done else info.get(_DIRTY)
    if found is not None:
        engine, caches = found
        for cache in caches:
            cache.clear(engine)


@event.listens_for(Engine, "commit")
def _on_commit(conn: Connection) -> None:
    _clear_dirty(conn.info, done=False)


@event.listens_for(Engine, "rollback")
def _on_rollback(conn: Connection) -> None:
    _clear_dirty(conn.info, done=False)


@event.listens_for(Pool, "checkin")
def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry | None) -> None:
    if record is not None:
        _clear_dirty(record.info, done=True)
