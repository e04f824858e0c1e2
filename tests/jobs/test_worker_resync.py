"""On PostgreSQL: with FIELDBRIDGE_WORKER_RESYNC=true, `fieldbridge worker` runs the sync
scheduler's pass (here: a requested "sync now"), so web processes may run without a scheduler."""

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fieldbridge
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.tasks import request_sync
from tests.browser import free_port
from tests.factories import create_tenant
from tests.jobs.helpers import sync_job_of


def _start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(fieldbridge.__file__).resolve().parents[1]),
        "FIELDBRIDGE_ENV": "test",
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_SECRET_KEY": "w" * 40,
        "FIELDBRIDGE_WORKER_RESYNC": "true",
        "FIELDBRIDGE_WORKER_RESYNC_CRON": "* * * * * *",
    }
    code = "from fieldbridge.cli import app; app()"
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-c", code, "worker"], env=env, stdout=out, stderr=out)


@pytest.mark.slow
async def test_a_worker_runs_a_requested_sync_when_worker_resync_is_on(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    if db.is_sqlite:
        pytest.skip("`fieldbridge worker` needs PostgreSQL (set FIELDBRIDGE_TEST_DATABASE_URL)")
    from fieldbridge.delivery.procrastinate_runner import ensure_schema

    ensure_schema(settings.database_url)
    tenant = await create_tenant(db, settings)
    nobody = f"http://127.0.0.1:{free_port()}"  # Procore is unreachable: the job ends `failed`
    async with db.transaction() as session:
        connection = Connection(
            company_id=tenant.company.id,
            provider="procore",
            label="Unreachable Procore",
            status=ConnectionStatus.connected,
            external_account_id="4242",
            config={"environment": "offline_sandbox", "offline_url": nobody, "client_id": "c"},
        )
        session.add(connection)
        await session.flush()
        request_sync(connection, discover_only=True)
        connection_id = connection.id
    worker = _start_worker(settings, tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 90
        job = await sync_job_of(db, connection_id)
        while job.get("state") not in ("done", "failed") and time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited (see worker.log in the test's tmp dir)"
            await asyncio.sleep(0.5)
            job = await sync_job_of(db, connection_id)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert job.get("state") == "failed", job
    assert job.get("finished_at")
    assert job.get("error")
