"""PostgreSQL pools ping a connection only when it sat idle (kit/db.py): a busy pool pays no
ping, and an idle connection that died is replaced before a request gets it."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from fieldbridge.kit import db as kit_db
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """A pool of one PostgreSQL connection."""
    if settings.is_sqlite:
        pytest.skip("pooled PostgreSQL connections only (set FIELDBRIDGE_TEST_DATABASE_URL)")
    pool = Database(settings.database_url, pool_size=1, max_overflow=0)
    yield pool
    await pool.dispose()


async def test_a_dead_idle_connection_is_replaced_before_use(
    settings: Settings, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    killer = Database(settings.database_url)
    try:
        async with database.engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with killer.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(kit_db, "PING_AFTER_IDLE_S", 0.0)  # it has been idle long enough
        async with database.engine.connect() as conn:
            second = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert second != first
    finally:
        await killer.dispose()


async def test_a_connection_in_steady_use_is_not_pinged(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = database.engine.sync_engine.dialect
    pings: list[object] = []
    real = type(dialect).do_ping

    def counted(self: object, dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(real(self, dbapi_connection))  # type: ignore[arg-type]

    monkeypatch.setattr(type(dialect), "do_ping", counted)
    for _ in range(3):
        async with database.engine.connect() as conn:
            await conn.scalar(text("SELECT 1"))
    assert pings == []  # handed back a moment ago each time
    monkeypatch.setattr(kit_db, "PING_AFTER_IDLE_S", 0.0)
    async with database.engine.connect() as conn:
        await conn.scalar(text("SELECT 1"))
    assert len(pings) == 1
