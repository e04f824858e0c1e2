"""On PostgreSQL: two `fieldbridge serve` and two `fieldbridge worker` processes run a 17:00-local
job for projects in three time zones, on a fake clock that crosses the US spring-forward day
(March 8, 2026) at 10,000x. Every (project, local date) runs exactly once, at 17:00 local."""

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

import fieldbridge
from fieldbridge.jobs.models import LocalJobRun
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.browser import free_port
from tests.factories import create_tenant
from tests.jobs.helpers import projects_in_zones
from tests.jobs.sample_jobs import JOB

START = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
END = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
SPEED = 10_000.0  # fake seconds per real second: 66 fake hours in about 24 s
STARTUP_SECONDS = 25.0  # the fake clock reads START this long after the processes start
CATCH_UP = timedelta(hours=6)


def _env(settings: Settings, anchor: float, log_path: Path, **extra: str) -> dict[str, str]:
    src = Path(fieldbridge.__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(src), str(Path(__file__).resolve().parents[2])]),
        "FIELDBRIDGE_ENV": "test",
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_SECRET_KEY": "j" * 40,
        "FIELDBRIDGE_LOG_JSON": "true",
        "FIELDBRIDGE_JOB_MODULES": "tests.jobs.sample_jobs",
        "FIELDBRIDGE_JOBS_CATCH_UP_MINUTES": str(int(CATCH_UP.total_seconds() // 60)),
        "FIELDBRIDGE_TEST_CLOCK_START": START.isoformat(),
        "FIELDBRIDGE_TEST_CLOCK_ANCHOR": repr(anchor),
        "FIELDBRIDGE_TEST_CLOCK_SPEED": repr(SPEED),
        "FIELDBRIDGE_TEST_JOBS_LOG": str(log_path),
    }
    env.update(extra)
    return env


def _start(args: list[str], env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    code = "from fieldbridge.cli import app; app()"
    with out.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args], env=env, stdout=sink, stderr=subprocess.STDOUT
        )


def _wait_ready(
    servers: list[str], worker_logs: list[Path], processes: list[subprocess.Popen[bytes]]
) -> None:
    deadline = time.monotonic() + 90
    pending_servers, pending_workers = set(servers), set(worker_logs)
    while (pending_servers or pending_workers) and time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), "a process exited during start-up"
        for base in list(pending_servers):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    pending_servers.discard(base)
            except httpx.HTTPError:
                pass
        for path in list(pending_workers):
            if b"delivery.worker_started" in path.read_bytes():
                pending_workers.discard(path)
        time.sleep(0.2)
    assert not pending_servers, "serve did not start in 90 s"
    assert not pending_workers, "worker did not start in 90 s"


@pytest.mark.slow
async def test_two_serves_and_two_workers_run_each_project_and_local_date_once_across_dst(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    if db.is_sqlite:
        pytest.skip("`fieldbridge worker` needs PostgreSQL (set FIELDBRIDGE_TEST_DATABASE_URL)")
    from fieldbridge.delivery.procrastinate_runner import ensure_schema

    ensure_schema(settings.database_url)  # once, before two workers would race to apply it
    tenant = await create_tenant(db, settings)
    zones = await projects_in_zones(db, tenant.company.id)
    runs_log = tmp_path / "runs.jsonl"
    anchor = time.time() + STARTUP_SECONDS
    processes: list[subprocess.Popen[bytes]] = []
    servers, worker_logs = [], []
    try:
        for n in range(2):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = _env(
                settings,
                anchor,
                runs_log,
                FIELDBRIDGE_BASE_URL=base,
                FIELDBRIDGE_RUNNER="none",
                FIELDBRIDGE_JOBS_POLL_SECONDS="0.2",
            )
            processes.append(_start(["serve", "--port", str(port)], env, tmp_path / f"serve{n}.log"))
            servers.append(base)
        for n in range(2):
            out = tmp_path / f"worker{n}.log"
            env = _env(settings, anchor, runs_log, FIELDBRIDGE_JOBS_CRON="* * * * * *")
            processes.append(_start(["worker", "--concurrency", "2"], env, out))
            worker_logs.append(out)
        _wait_ready(servers, worker_logs, processes)
        # Until the fake clock is past END, and one catch-up window (and a worker tick) more.
        finish = anchor + (END - START).total_seconds() / SPEED + 2.0
        while time.time() < finish:
            assert all(p.poll() is None for p in processes), "a process died"
            await asyncio.sleep(0.5)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)

    lines = [json.loads(line) for line in runs_log.read_text().splitlines()] if runs_log.exists() else []
    ran = Counter((line["project_id"], line["local_date"]) for line in lines if line["job"] == JOB)
    assert [key for key, count in ran.items() if count > 1] == [], "a (project, local date) ran twice"
    expected = {(p, date(2026, 3, d).isoformat()) for p in zones for d in (7, 8, 9)}
    assert expected <= set(ran), f"missing runs: {sorted(expected - set(ran))}"
    for line in lines:
        scheduled = datetime.fromisoformat(line["scheduled_at"])
        local = scheduled.astimezone(ZoneInfo(zones[line["project_id"]]))
        assert (local.date().isoformat(), local.time()) == (line["local_date"], clock_time(17, 0))
        assert scheduled <= datetime.fromisoformat(line["ran_at"]) < scheduled + CATCH_UP
    async with db.sessionmaker() as session:
        rows = (await session.scalars(select(LocalJobRun).where(LocalJobRun.job_name == JOB))).all()
    assert sorted((r.project_id, r.local_date.isoformat()) for r in rows) == sorted(ran)
    by_kind = Counter(r.ran_by.split(":")[0] for r in rows)
    pids = Counter(line["pid"] for line in lines)
    logging.getLogger(__name__).info(
        "runs: %d, by process kind: %s, by pid: %s", len(rows), dict(by_kind), dict(pids)
    )
