"""`fieldbridge bench acc --faults`: detections into ACC issues, end to end, against the ACC
sandbox served over HTTP (`fieldbridge sandbox acc`) with faults on (5xx, answers dropped after
the write, timeouts).

A company connects to the sandbox through APS OAuth (the consent page answered over HTTP),
syncs the hub's projects, and links a safety site to the project "Riverside Medical Office"
(threshold 3, no folding). Detections (zone breaches, priorities 1..5 in turn) are ingested
through the safety domain at `--rate` per second; the domain enqueues `acc.safety.observation`
for those at or above the threshold, and the local runner delivers them while they arrive.

Counts come from the sandbox (`/_sandbox/markers`: issues per `[fieldbridge:observation:<id>]`
marker), not from our tables: `issues` = issues of this run, `duplicates` = issues beyond the
first per detection, `lost` = detections above the threshold with no issue; `delivered` = ledger
rows delivered. Latency: the detection's ingest commit -> its issue's row delivered (p95).
Prints exactly those five keys.
"""

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import typer
from sqlalchemy import select

from fieldbridge.accounts import service as accounts_service
from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.export import CLIENT_TIMEOUT, FAULTS, TERMINAL, _percentile
from fieldbridge.bench.testbed import free_port, served_sandbox
from fieldbridge.connections.connector import SyncRequest
from fieldbridge.connectors.acc.offline import connect_offline_sandbox
from fieldbridge.connectors.acc.projects import AccProjectSync
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.local import LocalRunner
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.safety import ingest
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetyZone, ZoneType
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

PROJECT = "Riverside Medical Office"  # a demo project with a Safety issue type
THRESHOLD = 3
BATCH = 5
MARKER = r"\[fieldbridge:(observation:[0-9]+)\]"


async def _site(db: Database, company_id: int, connection_id: int) -> tuple[int, int]:
    """A safety site on the synced ACC project, linked to it: (site id, zone id)."""
    async with db.transaction() as session:
        project = await session.scalar(
            select(Project).where(Project.connection_id == connection_id, Project.name == PROJECT)
        )
        assert project is not None, f"the sandbox has no project {PROJECT!r}"
        project.sync_enabled = True
        site = SafetySite(company_id=company_id, project_id=project.id, name="Bench site", time_zone="UTC")
        session.add(site)
        await session.flush()
        zone = SafetyZone(company_id=company_id, site_id=site.id, name="Deck", type=ZoneType.restricted)
        session.add(zone)
        session.add(
            SafetySiteLink(
                company_id=company_id,
                site_id=site.id,
                connection_id=connection_id,
                project_id=project.id,
                remote_project_id=project.external_id,
                observation_threshold=THRESHOLD,
                fold_window_s=0,
            )
        )
        await session.flush()
        return site.id, zone.id


def _detection(tag: str, n: int, site_id: int, zone_id: int) -> dict[str, Any]:
    return {
        "event_id": f"acc-bench-{tag}-{n}",
        "site_id": site_id,
        "zone_id": zone_id,
        "type": "zone_breach",
        "priority": 1 + n % 5,
        "source": "camera",
        "source_ref": "cam-1",
        "occurred_at": (datetime.now(UTC) - timedelta(seconds=5)).isoformat(),
    }


async def _ingest(db: Database, company_id: int, rows: list[dict[str, Any]]) -> list[int]:
    """Ingest one batch; the ids of its detections at or above the threshold."""
    async with db.transaction() as session:
        outcome = await ingest.ingest_detections(session, company_id, rows)
    assert outcome.errors == 0, outcome.first_error
    return [
        int(outcome.results[i].id or 0) for i, r in outcome.stored.items() if int(r["priority"]) >= THRESHOLD
    ]


async def run(detections: int, rate: float, faults: bool, settings: Settings) -> dict[str, Any]:
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
            site_id, zone_id = await _site(db, company.id, connection.id)
            async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
                if faults:
                    await sandbox.put("/_sandbox/faults", json=FAULTS)
                above: list[int] = []
                local = LocalRunner(db, http, settings, DeliveryConfig(poll_seconds=0.2))
                await local.start()
                try:
                    started = time.monotonic()
                    for first in range(0, detections, BATCH):
                        batch = [
                            _detection(tag, n, site_id, zone_id)
                            for n in range(first, min(detections, first + BATCH))
                        ]
                        above += await _ingest(db, company.id, batch)
                        await asyncio.sleep(max(0.0, started + (first + BATCH) / rate - time.monotonic()))
                    rows = await _wait(db, connection.id, len(above), time.monotonic() + 600)
                finally:
                    await local.stop()
                await sandbox.put(
                    "/_sandbox/faults", json={"error_rate": 0, "drop_rate": 0, "timeout_rate": 0}
                )
                expected = [f"observation:{i}" for i in above]
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


async def _wait(db: Database, connection_id: int, expected: int, deadline: float) -> list[Delivery]:
    """The run's observation rows once all of them are settled (or at the deadline)."""
    while True:
        async with db.sessionmaker() as session:
            rows = list(
                (
                    await session.scalars(
                        select(Delivery).where(
                            Delivery.connection_id == connection_id, Delivery.kind == "acc.safety.observation"
                        )
                    )
                ).all()
            )
        if (len(rows) >= expected and all(r.status in TERMINAL for r in rows)) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


@bench_app.command("acc")
def acc(
    detections: int = typer.Option(
        300, help="Detections (priorities 1..5 in turn; 3 and above become issues)."
    ),
    rate: float = typer.Option(5.0, help="Detections ingested per second (a busy site's cameras)."),
    faults: bool = typer.Option(False, help="10% 5xx, 5% answers dropped after the write, 2% timeouts."),
) -> None:
    """Detections into ACC issues through the ledger; one JSON line of counts and latency."""
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    settings = Settings()
    from fieldbridge.kit.migrate import upgrade

    upgrade(settings.database_url)
    emit(asyncio.run(run(detections, rate, faults, settings)))
