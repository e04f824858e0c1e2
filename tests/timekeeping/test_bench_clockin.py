"""`fieldbridge bench clockin` end to end: real server processes on the test database, the
clock-in phase, then the stack's floor at the same rate on the same servers."""

import asyncio

import httpx
import pytest
from sqlalchemy import inspect

from fieldbridge.bench.clockin import run
from fieldbridge.bench.floor import PATH
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings


@pytest.mark.slow
async def test_bench_clockin_measures_the_floor_beside_clock_in(settings: Settings, db: Database) -> None:
    result = await asyncio.to_thread(run, settings, 20.0, 1.0, 0, 1, 4)
    assert result["scenario"] == "clockin"
    assert result["requests"] == 20
    assert result["errors"] == result["floor_errors"] == 0
    for name in (
        "server_cpu_ms_per_request",
        "floor_cpu_ms_per_request",
        "cpu_ratio",
        "client_cpu_ms_per_request",
        "floor_client_cpu_ms_per_request",
    ):
        assert result[name] > 0, name
    assert result["cpu_ratio"] == pytest.approx(
        result["server_cpu_ms_per_request"] / result["floor_cpu_ms_per_request"], abs=0.01
    )
    async with db.engine.connect() as conn:  # the bench-only table is gone again
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "bench_floor" not in tables


async def test_the_product_app_has_no_floor_route(client: httpx.AsyncClient) -> None:
    response = await client.post(PATH, json={})
    assert response.status_code == 404
