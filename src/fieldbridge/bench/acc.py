"""`fieldbridge bench acc --faults`: safety observations (detections at or above the site's
priority threshold) into ACC issues through the ledger, against the ACC sandbox served over HTTP
with faults on (5xx, dropped responses after the write, timeouts, a 429 burst).

Counts come from the sandbox (`/_sandbox/markers`: issues per `[fieldbridge:observation:<id>]`
marker), not from our tables: `issues` = issues carrying one of this run's markers,
`duplicates` = issues beyond the first per marker, `lost` = markers with no issue; `delivered` =
ledger rows delivered. Latency is enqueue -> delivered (p95). Prints exactly those five keys.
"""

import asyncio
import os
import time
from typing import Any

import httpx
import typer
from sqlalchemy import select

from fieldbridge.accounts import service as accounts_service
from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.export import CLIENT_TIMEOUT, TERMINAL, _percentile
from fieldbridge.bench.testbed import free_port, served_sandbox
from fieldbridge.connections.connector import SyncRequest
from fieldbridge.connectors.acc.offline import connect_offline_sandbox
from fieldbridge.connectors.acc.projects import AccProjectSync
from fieldbridge.delivery import service
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.local import LocalRunner
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

PROJECT = "Riverside Medical Office"  # a demo project with a Safety issue type
THRESHOLD = 3
FAULTS = {
    "error_rate": 0.10,
    "drop_rate": 0.05,
    "timeout_rate": 0.02,
    "hang_seconds": 3.0,
    "retry_after_seconds": 1,
    "random_seed": 7,
}
MARKER = r"\[fieldbridge:(observation:[^\]]+)\]"


def observation(run: str, n: int, priority: int) -> tuple[str, dict[str, Any]]:
    subject = f"observation:{run}-{n}"
    return subject, {
        "detection_ids": [n],
        "site_id": 1,
        "type": "ppe_violation",
        "zone": f"Zone {n % 4 + 1}",
        "priority": priority,
        "count": 1,
        "first_at": "2026-12-01T08:00:00Z",
        "last_at": "2026-12-01T08:00:00Z",
        "link": f"http://127.0.0.1:8000/safety/detections/{n}",
        "frame_ref": None,
        "title": f"No hard hat (bench {run}-{n})",
        "description": f"Detection {n}: hard hat missing.",
        "mapped": {"observation_type": None, "priority": None},
    }


async def run(detections: int, faults: bool, settings: Settings) -> dict[str, Any]:
    with served_sandbox(seed="demo", port=free_port(), provider="acc") as sandbox_url:
        db = Database(settings.database_url)
        http = HttpClients(timeout=CLIENT_TIMEOUT, allow_emulators=True)
        try:
            tag = f"{int(time.time())}{os.getpid() % 1000:03d}"
            async with db.transaction() as session:
                company = await accounts_service.create_company(session, f"ACC bench {tag}", f"A{tag}"[-12:])
            connection = await connect_offline_sandbox(db, settings, http, company.id, sandbox_url)
            await AccProjectSync().sync(
                db, http, SecretBox(settings.secret), connection, SyncRequest(discover=True, paced=False)
            )
            async with db.sessionmaker() as session:
                project = await session.scalar(
                    select(Project).where(Project.connection_id == connection.id, Project.name == PROJECT)
                )
            assert project is not None
            async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
                if faults:
                    await sandbox.put("/_sandbox/faults", json=FAULTS)
                ids: list[int] = []
                expected: list[str] = []
                async with db.transaction() as session:
                    for n in range(detections):
                        priority = 1 + n % 5
                        if priority < THRESHOLD:  # below the site's threshold: the domain sends nothing
                            continue
                        subject, payload = observation(tag, n, priority)
                        row = await service.enqueue(
                            session,
                            company_id=company.id,
                            connection_id=connection.id,
                            kind="acc.safety.observation",
                            subject=subject,
                            payload=payload,
                            idempotency_key=f"{subject}:v1",
                            remote_project_id=project.external_id,
                        )
                        ids.append(row.id)
                        expected.append(subject)
                local = LocalRunner(db, http, settings, DeliveryConfig(poll_seconds=0.2))
                await local.start()
                try:
                    rows = await _wait(db, ids, time.monotonic() + 600)
                finally:
                    await local.stop()
                await sandbox.put(
                    "/_sandbox/faults", json={"error_rate": 0, "drop_rate": 0, "timeout_rate": 0}
                )
                counted = (
                    await sandbox.get(
                        "/_sandbox/markers", params={"regex": MARKER, "expected": ",".join(expected)}
                    )
                ).json()
        finally:
            await db.dispose()
    mine = set(expected)
    latencies = [
        (r.delivered_at - r.created_at).total_seconds() * 1000 for r in rows if r.delivered_at is not None
    ]
    return {
        "issues": sum(n for marker, n in counted["markers"].items() if marker in mine),
        "delivered": sum(1 for r in rows if r.delivered_at is not None),
        "duplicates": sum(n - 1 for marker, n in counted["markers"].items() if marker in mine),
        "lost": counted["lost"],
        "latency_p95_ms": round(_percentile(latencies, 95)),
    }


async def _wait(db: Database, ids: list[int], deadline: float) -> list[Delivery]:
    while True:
        async with db.sessionmaker() as session:
            rows = list((await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))).all())
        if all(r.status in TERMINAL for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


@bench_app.command("acc")
def acc(
    detections: int = typer.Option(
        300, help="Detections (priorities 1..5; those at 3 or above become issues)."
    ),
    faults: bool = typer.Option(False, help="10% 5xx, 5% dropped responses, 2% timeouts."),
) -> None:
    """Safety observations into the ACC sandbox through the ledger; one JSON line of counts."""
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    settings = Settings()
    from fieldbridge.kit.migrate import upgrade

    upgrade(settings.database_url)
    emit(asyncio.run(run(detections, faults, settings)))
