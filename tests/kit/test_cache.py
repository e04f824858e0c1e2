"""kit/cache.py: what a process keeps is per database engine, dropped by any write this process
makes to a watched table (through any engine of that database), and never stored from a read
that an invalidation overtook."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from fieldbridge.kit.cache import MISSING, ProcessCache
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
