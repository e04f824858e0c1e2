"""kit/cache.py: what a process keeps is per database engine, dropped by any write this process
makes to a watched table (through any engine of that database), and never stored from a read
that an invalidation overtook."""

import asyncio
from collections.abc import AsyncIterator, Hashable

import pytest
from sqlalchemy import text

from fieldbridge.kit.cache import MISSING, RENEW_SHARE, ProcessCache, Renewal, renewing
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings

CACHE: ProcessCache[int, str] = ProcessCache("test.companies", tables={"companies"})
FOREVER: ProcessCache[int, str] = ProcessCache("test.forever", tables={"no_such_table"})
NEVER: ProcessCache[int, str] = ProcessCache("test.never", tables={"companies"}, ttl=0)


@pytest.fixture
async def other(settings: Settings) -> AsyncIterator[Database]:
    """A second engine on the same database (a CLI command, a test's own session, ...)."""
    database = Database(settings.database_url)
    yield database
    await database.dispose()


async def test_a_write_to_a_watched_table_drops_what_is_cached(db: Database, other: Database) -> None:
    async with db.transaction() as session:
        CACHE.put(session, 1, "Acme", CACHE.stamp(session))
        FOREVER.put(session, 1, "kept", FOREVER.stamp(session))
        assert CACHE.get(session, 1) == "Acme"
    async with other.transaction() as session:  # through the other engine, in plain SQL
        await session.execute(
            text(
                "INSERT INTO companies (name, code, timezone, created_at, updated_at) "
                "VALUES ('Zed', 'ZED1', 'UTC', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
    async with db.transaction() as session:
        assert CACHE.get(session, 1) is MISSING
        assert FOREVER.get(session, 1) == "kept"  # it watches another table


async def test_each_engine_has_its_own_entries(db: Database, other: Database) -> None:
    async with db.transaction() as session:
        CACHE.put(session, 7, "mine", CACHE.stamp(session))
    async with other.transaction() as session:
        assert CACHE.get(session, 7) is MISSING


async def test_a_read_overtaken_by_a_write_is_not_kept(db: Database) -> None:
    async with db.transaction() as session:
        stamp = CACHE.stamp(session)
    async with db.transaction() as session:
        await session.execute(text("UPDATE companies SET name = name WHERE id = -1"))
    async with db.transaction() as session:
        CACHE.put(session, 2, "read before the write", stamp)
        assert CACHE.get(session, 2) is MISSING
        CACHE.put(session, 2, "read after it", CACHE.stamp(session))
        assert CACHE.get(session, 2) == "read after it"


async def test_a_rolled_back_write_drops_it_too(db: Database) -> None:
    async with db.sessionmaker() as session:
        CACHE.put(session, 3, "old", CACHE.stamp(session))
        await session.execute(text("UPDATE companies SET name = name WHERE id = -1"))
        await session.rollback()
        assert CACHE.get(session, 3) is MISSING


async def test_entries_expire_after_their_ttl(db: Database) -> None:
    async with db.transaction() as session:
        NEVER.put(session, 4, "gone", NEVER.stamp(session))
        assert NEVER.get(session, 4) is MISSING


async def test_a_renewing_session_reads_again_what_is_near_its_end(db: Database) -> None:
    """Half of its life gone, an entry still answers `get` and `peek`, but a renewal's session
    misses it (so it reads and puts it again); a younger entry answers the renewal too."""
    async with db.transaction() as session:
        CACHE.put(session, 5, "old", CACHE.stamp(session))
        CACHE.put(session, 6, "young", CACHE.stamp(session))
    engine = db.engine.sync_engine
    expires, value = CACHE._stores[engine].entries[5]
    CACHE._stores[engine].entries[5] = (expires - CACHE.ttl * RENEW_SHARE - 0.1, value)
    async with db.transaction() as session:
        assert CACHE.get(session, 5) == "old"
        assert CACHE.peek(engine, 5) == "old"
    async with db.transaction() as session:
        renewing(session)
        assert CACHE.get(session, 5) is MISSING
        assert CACHE.get(session, 6) == "young"


async def test_a_renewal_runs_at_most_every_so_often_per_key_with_what_was_noted() -> None:
    ran: list[tuple[int, frozenset[Hashable]]] = []
    release = asyncio.Event()

    async def renew(key: int, items: frozenset[Hashable]) -> None:
        ran.append((key, items))
        await release.wait()

    renewal: Renewal[int] = Renewal(renew, every=0.2)
    renewal.note(1, [10])
    await asyncio.sleep(0)
    renewal.note(1, [11])  # one at a time, and not again so soon
    renewal.note(2, [20])  # another key runs at once
    await asyncio.sleep(0)
    assert ran == [(1, frozenset({10})), (2, frozenset({20}))]
    release.set()
    await renewal.wait()
    renewal.note(1, [12])
    await asyncio.sleep(0)
    assert len(ran) == 2  # `every` has not passed
    await asyncio.sleep(0.25)
    renewal.note(1)
    await renewal.wait()
    assert ran[2] == (1, frozenset({11, 12}))  # what was noted since the last run


async def test_a_failed_renewal_is_logged_and_the_next_one_runs() -> None:
    calls = 0

    async def renew(_key: int, _items: frozenset[Hashable]) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("database away")

    renewal: Renewal[int] = Renewal(renew, every=0.0)
    renewal.note(1)
    await renewal.wait()
    renewal.note(1)
    await renewal.wait()
    assert calls == 2
