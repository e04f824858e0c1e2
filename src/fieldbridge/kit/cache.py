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
"""

import re
import time
from collections.abc import Iterable
from enum import Enum
from typing import Any, Final, Generic, Literal, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import ConnectionPoolEntry, Pool

K = TypeVar("K")
V = TypeVar("V")


class _Missing(Enum):
    MISSING = "MISSING"


MISSING: Final = _Missing.MISSING
DEFAULT_TTL = 10.0
MAX_ENTRIES = 10_000  # per cache and engine; a full cache starts over

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
        if found is None or found[0] <= time.monotonic():
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
