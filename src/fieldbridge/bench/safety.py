"""`fieldbridge bench safety`: detections through ingest to Procore observation items (the
sandbox, over HTTP) through the ledger.

Each project of the testbed is a safety site linked to a sandbox project (default threshold 3,
fold window 900 s) with three zones. Detections (zone breaches and PPE violations, priority
1..5, a fixed seed) are ingested one per transaction at `--rate` per second, as cameras post
them. The delivery runner runs in this process (`LocalRunner`, woken after each commit).

Counts come from the sandbox (`/_sandbox/records/observation_items`), matched to FieldBridge's
observations by the detection link each item carries: `observations` = observations
FieldBridge opened (ledger subjects), `delivered` = those with an item, `duplicates` = extra
items of one observation, `lost` = observations with none. `requests_per_observation` counts
every request the sandbox saw (creates, updates, look-ups, tokens, retries).

Latency: an observation's first detection committed (its create row's `created_at`, written
in the ingest transaction) to its item delivered. `bound_ms` is the p95 of the same latency
for an ideal sender that spends the rate budget evenly and costs nothing else: one request per
`spike window / spike limit` (100 ms at Procore's 100 per 10 s), fed every delivered row of the
run when it became due (creates at their commit, count updates `UPDATE_DELAY` later) in that
order: `start_k = max(due_k, start_(k-1) + spacing)`, latency `start_k - due_k`.
`window_bound_ms` is the same p95 for a sender that costs nothing and only keeps the spike
window's count (bursting while it has room). See docs/benchmarks.md.
"""

import asyncio
import os
import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import typer
from sqlalchemy import and_

from fieldbridge.bench import bench_app, emit, export
from fieldbridge.bench.export import FAULTS, _percentile
from fieldbridge.bench.testbed import ExportRig, free_port, served_sandbox, setup_testbed
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.safety import ingest, outbound
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetyZone, ZoneType
from fieldbridge.safety.outbound import UPDATE_DELAY
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

KIND = "procore.safety.observation"
ZONES = ("Deck", "Crane swing", "Pit")
TYPES = ("zone_breach", "ppe_violation")
SEED = 11


@dataclass
class Options:
    events: int
    projects: int
    rate: float
    faults: bool


@dataclass
class Sites:
    ids: list[int]  # safety site per project
    zones: dict[int, list[int]]  # site -> zone ids


async def link_sites(db: Database, bed: ExportRig) -> Sites:
    """One safety site per sandbox project of the testbed, linked to it."""
    out = Sites([], {})
    async with db.transaction() as session:
        for remote in bed.projects:
            project = Project(
                company_id=bed.company_id,
                connection_id=bed.connection_id,
                external_id=str(remote),
                name=f"Bench {remote}",
                time_zone="America/New_York",
                sync_enabled=True,
            )
            session.add(project)
            await session.flush()
            site = SafetySite(
                company_id=bed.company_id,
                project_id=project.id,
                name=f"Site {remote}",
                time_zone="America/New_York",
            )
            session.add(site)
            await session.flush()
            zones = [
                SafetyZone(company_id=bed.company_id, site_id=site.id, name=name, type=ZoneType.restricted)
                for name in ZONES
            ]
            session.add_all(zones)
            session.add(
                SafetySiteLink(
                    company_id=bed.company_id,
                    site_id=site.id,
                    connection_id=bed.connection_id,
                    project_id=project.id,
                    remote_project_id=str(remote),
                )
            )
            await session.flush()
            out.ids.append(site.id)
            out.zones[site.id] = [z.id for z in zones]
    return out


def event(sites: Sites, n: int, rng: random.Random, run: str) -> dict[str, Any]:
    site = sites.ids[n % len(sites.ids)]
    kind = rng.choice(TYPES)
    return {
        "event_id": f"bench-{run}-{n}",
        "site_id": site,
        "zone_id": rng.choice(sites.zones[site]),
        "type": kind,
        "missing_items": ["hard_hat"] if kind == "ppe_violation" else [],
        "priority": rng.randint(1, 5),
        "source": "camera",
        "source_ref": f"cam-{site}",
        "occurred_at": datetime.now(UTC).isoformat(),
        "evidence": [{"kind": "frame", "id": f"frame-{n}"}],
    }


def bound_ms(due: list[tuple[datetime, bool]], spacing_s: float) -> float:
    """p95 over the creates of an ideal evenly paced sender's latency (Lindley's recursion),
    fed every request of the load when it is due: (due time, is a create)."""
    waits: list[float] = []
    free_at: datetime | None = None
    for at, create in sorted(due):
        start = at if free_at is None else max(at, free_at)
        if create:
            waits.append((start - at).total_seconds() * 1000)
        free_at = start + timedelta(seconds=spacing_s)
    return _percentile(waits, 95)


def window_bound_ms(due: list[tuple[datetime, bool]], limit: int, window_s: float) -> float:
    """p95 over the creates of a sender that costs nothing and sends each request as soon as
    the spike window has room (fixed windows of `limit` requests, each opened by the first
    request after the last one closed, as the sandbox counts them): the floor the window
    itself sets, below `bound_ms` whenever the load leaves the window room to burst."""
    waits: list[float] = []
    opened: datetime | None = None
    used = 0
    span = timedelta(seconds=window_s)
    last: datetime | None = None
    for at, create in sorted(due):
        start = at if last is None else max(at, last)
        if opened is not None and start - opened >= span:
            opened, used = None, 0
        if opened is not None and used >= limit:
            start, opened, used = opened + span, None, 0
        if opened is None:
            opened = start
        used += 1
        last = start
        if create:
            waits.append((start - at).total_seconds() * 1000)
    return _percentile(waits, 95)


async def run(options: Options, settings: Settings) -> dict[str, Any]:
    with served_sandbox(seed="large", port=free_port()) as sandbox_url:
        db = Database(settings.database_url)
        try:
            bed = await setup_testbed(db, settings, sandbox_url, projects=options.projects)
            sites = await link_sites(db, bed)
            async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
                limits = (await sandbox.put("/_sandbox/rate_limits", json={})).json()  # the current ones
                if options.faults:
                    await sandbox.put("/_sandbox/faults", json=FAULTS)
                before = (await sandbox.get("/_sandbox/requests")).json()["total"]
                local = export.Options(
                    options.events, options.projects, options.rate, options.faults, "local", 0
                )
                async with export._runner(local, bed, settings, db):  # delivery in this process
                    rng = random.Random(SEED)
                    started = time.monotonic()
                    for n in range(options.events):
                        async with db.transaction() as session:
                            await ingest.ingest_detections(
                                session, bed.company_id, [event(sites, n, rng, bed.run)]
                            )
                        await asyncio.sleep(max(0.0, started + (n + 1) / options.rate - time.monotonic()))
                    mine = and_(Delivery.company_id == bed.company_id, Delivery.kind == KIND)
                    rows = await export._wait(db, mine, time.monotonic() + 600)
                await sandbox.put(
                    "/_sandbox/faults", json={"error_rate": 0, "drop_rate": 0, "timeout_rate": 0}
                )
                stats = (await sandbox.get("/_sandbox/requests")).json()
                items = (await sandbox.get("/_sandbox/records/observation_items")).json()
        finally:
            await db.dispose()
    link = re.compile(re.escape(outbound.detection_link(0)[:-1]) + r"(\d+)\s*$")
    subjects = {r.subject for r in rows}
    per_subject = Counter(
        f"observation:{m.group(1)}"
        for m in (link.search(str(i.get("description") or "")) for i in items if not i.get("deleted_at"))
        if m is not None and f"observation:{m.group(1)}" in subjects
    )
    requests = stats["total"] - before
    spacing = float(limits["spike_window_seconds"]) / int(limits["spike"])
    delivered = [r for r in rows if r.delivered_at is not None]
    creates = {r.subject: r for r in sorted(rows, key=lambda r: r.id, reverse=True)}  # first row per subject
    first = {r.id for r in creates.values()}
    latencies = [
        (r.delivered_at - r.created_at).total_seconds() * 1000 for r in creates.values() if r.delivered_at
    ]
    due = [(r.created_at if r.id in first else r.created_at + UPDATE_DELAY, r.id in first) for r in delivered]
    return {
        "observations": len(subjects),
        "delivered": len(per_subject),
        "duplicates": sum(n - 1 for n in per_subject.values()),
        "lost": len(subjects) - len(per_subject),
        "requests_per_observation": round(requests / max(1, len(subjects)), 3),
        "http_429": sum(r["count"] for r in stats["requests"] if r["status"] == 429),
        "latency_p95_ms": round(_percentile(latencies, 95)),
        "bound_ms": round(bound_ms(due, spacing)),
        "window_bound_ms": round(
            window_bound_ms(due, int(limits["spike"]), float(limits["spike_window_seconds"]))
        ),
    }


@bench_app.command("safety")
def safety(
    events: int = typer.Option(1200, help="Detections to ingest (zone breaches and PPE violations)."),
    projects: int = typer.Option(20, help="Procore projects (one linked safety site each)."),
    rate: float = typer.Option(20.0, help="Detections per second."),
    faults: bool = typer.Option(False, help="10% 5xx, 5% dropped responses, 2% timeouts."),
) -> None:
    """Detections to Procore observations through the ledger; prints one JSON line."""
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    settings = Settings()
    if rate <= 0 or events < 1 or projects < 1:
        raise typer.BadParameter("--rate, --events and --projects must be positive")
    from fieldbridge.kit.migrate import upgrade

    upgrade(settings.database_url)
    emit(asyncio.run(run(Options(events, projects, rate, faults), settings)))
