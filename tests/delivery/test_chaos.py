"""Chaos on PostgreSQL: two `fieldbridge worker` processes, one SIGKILLed mid-drain, faults on,
real HTTP to a sandbox in its own process. The sandbox must hold one entry per clock-out."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from fieldbridge.bench.testbed import clock_out, served_sandbox, setup_testbed, worker_env
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings

CLOCK_OUTS = 150
CHAOS = DeliveryConfig(
    lease_seconds=3,
    drain_seconds=4,
    stalled_after_seconds=3,
    heartbeat_seconds=1,
    sweep_cron="* * * * * *",
    backoff_base_seconds=0.3,
    http_timeout_seconds=1,
)
FAULTS = {
    "error_rate": 0.10,
    "drop_rate": 0.05,
    "timeout_rate": 0.02,
    "hang_seconds": 1.5,
    "retry_after_seconds": 0,
    "latency": {"min_ms": 40, "max_ms": 120},
    "random_seed": 11,
}


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    code = "from fieldbridge.cli import app; app()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "worker", "--concurrency", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _statuses(db: Database) -> Counter[str]:
    async with db.sessionmaker() as session:
        rows = await session.execute(select(Delivery.status, func.count()).group_by(Delivery.status))
        return Counter({str(s): int(n) for s, n in rows.all()})


async def _running_owner_pid(db: Database) -> int | None:
    async with db.sessionmaker() as session:
        owner = await session.scalar(
            select(Delivery.lease_owner).where(Delivery.status == Status.running).limit(1)
        )
    return int(owner.split(":")[2]) if owner else None


@pytest.mark.slow
async def test_one_entry_per_clock_out_when_a_worker_is_killed_mid_drain(
    settings: Settings, db: Database
) -> None:
    if db.is_sqlite:
        pytest.skip("the procrastinate runner needs PostgreSQL (set FIELDBRIDGE_TEST_DATABASE_URL)")
    from fieldbridge.delivery.procrastinate_runner import ProcrastinateRunner, ensure_schema

    ensure_schema(settings.database_url)
    began = time.monotonic()
    with served_sandbox(seed="large") as url:
        bed = await setup_testbed(db, settings, url, projects=4)
        async with httpx.AsyncClient(base_url=url, timeout=30) as sandbox:
            assert (await sandbox.put("/_sandbox/faults", json=FAULTS)).status_code == 200
            ids = [
                await clock_out(db, bed, bed.projects[n % 4], bed.people[n % len(bed.people)], n)
                for n in range(CLOCK_OUTS)
            ]
            env = worker_env(settings, url, CHAOS)
            workers = [_start_worker(env), _start_worker(env)]
            print(f"setup {time.monotonic() - began:.1f}s")  # noqa: T201
            deferrer = ProcrastinateRunner(settings, CHAOS)
            await deferrer.open()
            try:
                await deferrer.defer(bed.connection_id)
                deadline = time.monotonic() + 120  # a bound for a loaded machine, not a timing target
                victim = None
                while victim is None and time.monotonic() < deadline:
                    pid = await _running_owner_pid(db)
                    delivered = (await _statuses(db))[Status.delivered]
                    if pid is not None and delivered >= 10 and pid in {w.pid for w in workers}:
                        victim = next(w for w in workers if w.pid == pid)
                        os.kill(pid, signal.SIGKILL)
                    await asyncio.sleep(0.05)
                assert victim is not None, "no worker was caught mid-drain"
                killed_at = time.monotonic()
                victim.wait(timeout=10)
                while time.monotonic() < deadline:
                    counts = await _statuses(db)
                    if counts[Status.delivered] + counts[Status.rejected] == CLOCK_OUTS:
                        break
                    await asyncio.sleep(0.25)
            finally:
                await deferrer.close()
                for worker in workers:
                    if worker.poll() is None:
                        worker.terminate()
                        worker.wait(timeout=10)
            print(f"recovered {time.monotonic() - killed_at:.1f}s after the kill")  # noqa: T201
            await sandbox.put("/_sandbox/faults", json={"error_rate": 0, "drop_rate": 0, "timeout_rate": 0})
            records = (await sandbox.get("/_sandbox/records/timecard_entries")).json()
    assert await _statuses(db) == Counter({Status.delivered: CLOCK_OUTS})
    per_clock_out = Counter(
        str(e["origin_id"]) for e in records if str(e.get("origin_id")) in {str(i) for i in ids}
    )
    assert len(per_clock_out) == CLOCK_OUTS
    assert set(per_clock_out.values()) == {1}
