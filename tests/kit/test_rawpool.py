"""kit/rawpool.py on a real PostgreSQL: connections are reused while sound, replaced when
not, and no caller waits for ever."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import make_url

from fieldbridge.kit import rawpool
from fieldbridge.kit.rawpool import ConnectionLost, PoolBusy, RawPool, StatementRefused
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(PG_URL is None, reason="the raw pool is PostgreSQL's")


@pytest.fixture
async def pool() -> AsyncIterator[RawPool]:
    assert PG_URL is not None
    set_up: list[Any] = []

    async def setup(conn: Any) -> None:
        set_up.append(conn)

    made = RawPool(make_url(PG_URL).set(drivername="postgresql").render_as_string(False), 2, setup, {})
    made.set_up = set_up  # type: ignore[attr-defined]
    yield made
    await made.close()


async def _pid(pool: RawPool) -> int:
    async with pool.connection() as conn:
        return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_a_sound_connection_is_reused_and_set_up_once(pool: RawPool) -> None:
    first = await _pid(pool)
    assert await _pid(pool) == first
    with pytest.raises(StatementRefused, match="division by zero") as refused:  # still sound
        async with pool.connection() as conn:
            await conn.fetchval("SELECT 1 / 0")
    assert refused.value.sqlstate == "22012"
    with pytest.raises(LookupError):  # the caller's own, between statements: still sound
        async with pool.connection() as conn:
            raise LookupError
    assert await _pid(pool) == first
    assert len(pool.set_up) == 1  # type: ignore[attr-defined]


async def test_a_statement_cancelled_midway_costs_its_connection_not_the_next_call(pool: RawPool) -> None:
    first = await _pid(pool)

    async def slow() -> None:
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(10)")

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _pid(pool) != first  # a new connection: the old one was terminated


async def test_a_connection_left_in_a_transaction_is_not_reused(pool: RawPool) -> None:
    async with pool.connection() as conn:
        first = await conn.fetchval("SELECT pg_backend_pid()")
        await conn.execute("BEGIN")
    assert await _pid(pool) != first


async def test_callers_beyond_the_size_wait_for_a_connection_handed_back(pool: RawPool) -> None:
    release, both = asyncio.Event(), asyncio.Event()
    held: list[int] = []

    async def hold() -> None:
        async with pool.connection() as conn:
            held.append(await conn.fetchval("SELECT pg_backend_pid()"))
            if len(held) == 2:
                both.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.wait_for(both.wait(), 5)
    third = asyncio.create_task(_pid(pool))
    await asyncio.sleep(0.1)
    assert not third.done()  # both connections are in use
    release.set()
    assert await asyncio.wait_for(third, 5) in held
    await asyncio.gather(*holders)


def _hold_both(pool: RawPool, release: asyncio.Event) -> list["asyncio.Task[None]"]:
    async def hold() -> None:
        async with pool.connection():
            await release.wait()

    return [asyncio.create_task(hold()) for _ in range(2)]


async def test_a_waiter_that_gives_up_does_not_lose_the_connection(pool: RawPool) -> None:
    release = asyncio.Event()
    holders = _hold_both(pool, release)
    await asyncio.sleep(0.1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_pid(pool), 0.1)
    release.set()
    await asyncio.gather(*holders)
    pids = await asyncio.gather(_pid(pool), _pid(pool))
    assert len(pids) == 2


async def test_a_closed_pool_refuses_and_releases_its_waiters(pool: RawPool) -> None:
    release = asyncio.Event()
    holders = _hold_both(pool, release)
    await asyncio.sleep(0.1)
    waiting = asyncio.create_task(_pid(pool))
    await asyncio.sleep(0.05)
    await pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        await waiting
    release.set()
    await asyncio.gather(*holders)
    with pytest.raises(RuntimeError, match="closed"):
        await _pid(pool)


async def test_a_connection_that_breaks_under_a_statement_is_reported_and_replaced(pool: RawPool) -> None:
    import asyncpg

    first = await _pid(pool)
    assert PG_URL is not None
    killer = await asyncpg.connect(make_url(PG_URL).set(drivername="postgresql").render_as_string(False))

    async def broken() -> None:
        async with pool.connection() as conn:
            await killer.execute("SELECT pg_terminate_backend($1)", first)
            await conn.fetchval("SELECT 1")

    try:
        with pytest.raises(ConnectionLost):
            await broken()
    finally:
        await killer.close()
    assert await _pid(pool) != first


async def test_a_connection_idle_too_long_is_not_handed_out(
    pool: RawPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await _pid(pool)
    assert await _pid(pool) == first
    monkeypatch.setattr(rawpool, "MAX_IDLE_SECONDS", 0.0)
    assert await _pid(pool) != first


async def test_a_statement_that_takes_too_long_is_given_up_and_its_connection_replaced(
    pool: RawPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawpool, "STATEMENT_SECONDS", 0.2)  # read when a connection is opened
    first = await _pid(pool)
    with pytest.raises(ConnectionLost, match="TimeoutError"):
        async with pool.connection() as conn:
            await conn.execute("SELECT pg_sleep(10)")
    assert await _pid(pool) != first


async def test_a_caller_that_gets_no_connection_in_time_is_told_the_pool_is_busy(
    pool: RawPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rawpool, "WAIT_SECONDS", 0.1)
    release = asyncio.Event()
    holders = _hold_both(pool, release)
    await asyncio.sleep(0.1)
    with pytest.raises(PoolBusy):
        await _pid(pool)
    release.set()
    await asyncio.gather(*holders)
    assert len(await asyncio.gather(_pid(pool), _pid(pool))) == 2  # both slots still there
