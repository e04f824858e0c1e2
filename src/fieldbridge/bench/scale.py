"""`fieldbridge bench scale`: one Procore budget, 500 projects, an hour in compressed time.

In one process: FieldBridge's app (the webhook receiver), the delivery ledger's local runner and
the sync scheduler (webhook checks, the reconcile sweep), the sandbox over an in-process
transport with its webhooks coming back into the app. The database is
FIELDBRIDGE_DATABASE_URL (upgraded first) or a scratch SQLite file.

1. Setup, at full speed with generous sandbox limits: the `large` seed's "Large GC" company
   (500 active projects), every project turned on and synced, webhooks registered.
2. The sandbox's limits drop to `--hourly`/`--spike` (Procore's current documented example:
   600 an hour, 25 per 10 s), `--drop` of webhooks are dropped (Procore's log lists them as
   discarded), and one clock drives both sides at `--speed` simulated seconds per second.
3. The hour: random changes (cost codes, projects, people) at `--changes` an hour, clock-outs
   at `--clockouts` a minute, the scheduler as `serve` runs it.
4. Loaded: the same clock-outs for `--loaded-minutes` while a full reconcile sweep runs back to
   back (every unit, as `Priority.reconcile`), then a grace period for changes still in flight.

Durations are on the simulated clock except change_latency_p95_s (wall-clock: see `run_scale`).
One JSON line: idle_requests_per_project_hour and
idle_budget_share (reconcile-class requests in the hour: delivery-log checks and sweep units),
export_p95_ms (loaded) and export_p95_ms_quiet (the hour), export_p95_ratio, changes_made,
changes_missed (never reached FieldBridge's rows), change_latency_p95_s (announced by webhook)
and reconcile_latency_p95_s (webhook dropped).
"""

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import typer
from fastapi import FastAPI
from sqlalchemy import delete, select

from fieldbridge.accounts import service as accounts_service
from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.export import _percentile
from fieldbridge.bench.testbed import ExportRig, clock_out
from fieldbridge.connections.connector import ConnectorError, ReconcileFlow, installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.offline import connect_offline_sandbox
from fieldbridge.delivery.budget import usage_report
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery, RateBudget
from fieldbridge.delivery.states import Status
from fieldbridge.kit import clock
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.migrate import upgrade_async
from fieldbridge.settings import Environment as Env
from fieldbridge.settings import Settings
from fieldbridge.sites import service as sites_service
from fieldbridge.sites.models import CostCode, ProcorePerson, Project
from fieldbridge.sites.repository import SitesRepository
from fieldbridge.sites.tasks import run_sync_scheduler, sync_connection

SANDBOX = "http://sandbox.bench"
FIELDBRIDGE = "http://fieldbridge.bench"
MODELS = {"cost_codes": CostCode, "projects": Project, "people": ProcorePerson}


@dataclass(frozen=True)
class Options:
    projects: int = 500
    speed: float = 30.0
    minutes: float = 60.0
    loaded_minutes: float = 10.0
    changes: int = 120
    clockouts: float = 2.0
    drop: float = 0.05
    hourly: int = 600
    spike: int = 25
    seed: int = 7


@dataclass
class Change:
    kind: str
    remote_id: str
    value: str
    at: float  # simulated Unix seconds
    dropped: bool
    wall: float  # real time it was made (time.monotonic)
    reached: float | None = None  # simulated
    reached_wall: float | None = None


@dataclass
class Run:
    changes: list[Change] = field(default_factory=list)
    exports: dict[int, tuple[str, float]] = field(default_factory=dict)  # ledger id -> (phase, at)
    phase: str = "quiet"
    synced: list[int] = field(default_factory=list)  # the sandbox's ids of the synced projects
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class ReceiverTransport(httpx.AsyncBaseTransport):
    """The sandbox's webhooks into FieldBridge's app, answered as soon as the app has sent its
    response, as over a real socket: the receiver's after-response processing goes on in the
    background instead of holding the sandbox's per-hook queue (httpx's ASGITransport waits
    for the whole app call, background tasks included)."""

    def __init__(self) -> None:
        self.app: Any = None
        self.background: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 1),
            "server": (request.url.host, request.url.port or 80),
        }
        sent: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
        done = asyncio.Event()
        fed = False

        async def receive() -> dict[str, Any]:
            nonlocal fed
            if fed:
                await asyncio.Event().wait()  # no disconnect while the app runs
            fed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                sent["status"], sent["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                sent["body"] = bytes(sent["body"]) + message.get("body", b"")
                if not message.get("more_body"):
                    done.set()

        async def call() -> None:
            try:
                await self.app(scope, receive, send)
            finally:
                done.set()

        task = asyncio.create_task(call())
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        await done.wait()
        return httpx.Response(int(sent["status"]), headers=list(sent["headers"]), content=bytes(sent["body"]))


def receiver_app(settings: Settings, http: HttpClients) -> FastAPI:
    """FieldBridge's webhook receiver as `serve` mounts it (`/api/v1/webhooks/...`)."""
    from fieldbridge import wiring
    from fieldbridge.inbound import api as inbound_api

    wiring.install(settings)
    app = FastAPI()
    app.include_router(inbound_api.public_router, prefix="/api/v1")
    app.state.db, app.state.http, app.state.settings = Database(settings.database_url), http, settings
    return app


def progress(message: str) -> None:
    """Where the run is, on stderr (stdout carries only the JSON line)."""
    typer.echo(f"[bench scale {time.strftime('%H:%M:%S')}] {message}", err=True)


def sim_now() -> float:
    return clock.utcnow().timestamp()


async def sim_sleep(seconds: float) -> None:
    await clock.sleep(seconds)


async def _setup(
    db: Database, settings: Settings, http: HttpClients, control: httpx.AsyncClient, opts: Options
) -> ExportRig:
    companies = (await control.get("/_sandbox/records/companies")).json()
    gc = next(c for c in companies if c["name"] == "Large GC")
    run = f"{int(time.time())}{os.getpid() % 1000:03d}"
    async with db.transaction() as session:
        company = await accounts_service.create_company(session, f"Scale {run}", f"S{run}"[-12:])
        connection = await connect_offline_sandbox(session, settings, http, company.id, SANDBOX, gc["id"])
    box = SecretBox(settings.secret)
    # Setup runs unpaced (the sandbox's limits are generous here): the hour is what is measured.
    await sync_connection(db, http, box, connection.id, project_ids=[], paced=False)
    async with db.transaction() as session:
        rows, _ = await SitesRepository.from_session(session).projects_page(
            company.id, view="available", limit=opts.projects
        )
        await sites_service.set_sync(session, company.id, [p.id for p in rows], True)
        chosen = [int(p.external_id) for p in rows]
    await sync_connection(db, http, box, connection.id, full=True, base_url=FIELDBRIDGE, paced=False)
    await control.post("/_sandbox/webhooks/drain", json={"timeout": 30})
    people = [
        p["id"] for p in (await control.get("/_sandbox/records/people")).json() if p["company_id"] == gc["id"]
    ]
    return ExportRig(SANDBOX, company.id, connection.id, gc["id"], chosen, people[:200], run)


async def _changes(control: httpx.AsyncClient, bed: ExportRig, opts: Options, run: Run) -> None:
    every = 3600 / max(1, opts.changes)
    n = 0
    while not run.stop.is_set() and run.phase == "quiet":
        n += 1
        made = await control.post(
            "/_sandbox/changes",
            json={
                "company_id": bed.procore_company_id,
                "project_ids": run.synced,
                "count": 1,
                "seed": opts.seed * 100_000 + n,
            },
        )
        for c in made.json():
            run.changes.append(
                Change(
                    c["kind"], str(c["id"]), c["value"], c["at"], c["webhook"] == "dropped", time.monotonic()
                )
            )
        await sim_sleep(every)


async def _clockouts(db: Database, bed: ExportRig, opts: Options, run: Run) -> None:
    every = 60 / opts.clockouts
    n = 0
    while not run.stop.is_set():
        n += 1
        row_id = await clock_out(
            db, bed, bed.projects[n % len(bed.projects)], bed.people[n % len(bed.people)], n
        )
        run.exports[row_id] = (run.phase, sim_now())
        await sim_sleep(every)


async def _watch(db: Database, bed: ExportRig, run: Run) -> None:
    """Notice when each change has reached FieldBridge's rows (polls the pending ones)."""
    while True:
        pending = [c for c in run.changes if c.reached is None]
        for kind, model in MODELS.items():
            mine = {c.remote_id: c for c in pending if c.kind == kind}  # the latest change per record
            if not mine:
                continue
            async with db.sessionmaker() as session:
                found = await session.execute(
                    select(model.external_id, model.name).where(model.external_id.in_(list(mine)))  # type: ignore[attr-defined]
                )
                now = sim_now()
                for ext, name in found.all():
                    change = mine.get(ext)
                    if change is not None and name == change.value:
                        change.reached, change.reached_wall = now, time.monotonic()
                        for earlier in pending:  # superseded by this one: reached with it
                            if (earlier.kind, earlier.remote_id) == (kind, ext) and earlier.at < change.at:
                                earlier.reached, earlier.reached_wall = now, time.monotonic()
        if run.stop.is_set() and all(c.reached is not None for c in run.changes):
            return
        await asyncio.sleep(0.02)


async def _full_reconcile(
    db: Database, http: HttpClients, box: SecretBox, connection_id: int, run: Run
) -> int:
    """Every sweep unit back to back, as the reconcile class: what a full reconcile costs others."""
    async with db.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        session.expunge(connection)
    flow = installed_registry().project_sync(connection.provider)
    assert isinstance(flow, ReconcileFlow)
    requests = 0
    for unit in await flow.reconcile_units(db, connection):
        if run.phase != "loaded":
            break
        try:
            requests += (await flow.reconcile(db, http, box, connection, unit)).requests
        except ConnectorError as exc:  # the budget refused (reconcile's cap): wait as told, as a sweep does
            wait = getattr(exc, "retry_after", None) or 1.0
            await sim_sleep(min(wait, 60.0))
    return requests


async def _export_p95(db: Database, run: Run, phase: str) -> float:
    ids = [i for i, (p, _) in run.exports.items() if p == phase]
    async with db.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Delivery.id, Delivery.delivered_at, Delivery.status).where(Delivery.id.in_(ids))
            )
        ).all()
    latencies = [
        (delivered.timestamp() - run.exports[i][1]) * 1000
        for i, delivered, status in rows
        if status == Status.delivered and delivered is not None
    ]
    return _percentile(latencies, 95)


def _use_clock(speed: float) -> None:
    clock.configure(
        {
            "FIELDBRIDGE_ENV": "test",
            "FIELDBRIDGE_TEST_CLOCK_START": datetime.now(UTC).isoformat(),
            "FIELDBRIDGE_TEST_CLOCK_ANCHOR": str(time.time()),
            "FIELDBRIDGE_TEST_CLOCK_SPEED": str(speed),
        }
    )


async def run_scale(opts: Options, url: str) -> dict[str, Any]:
    from fieldbridge.delivery.local import LocalRunner
    from fieldbridge_sandbox import SandboxConfig
    from fieldbridge_sandbox import create_app as create_sandbox
    from fieldbridge_sandbox.config import RateLimits

    back = ReceiverTransport()
    sandbox = create_sandbox(
        SandboxConfig(
            seed="large",
            rate_limits=RateLimits(hourly=1_000_000, spike=100_000),
            expires_in=30 * 86400,
            webhook_transport=back,
        )
    )
    http = HttpClients(transport=httpx.ASGITransport(app=sandbox))
    settings = Settings(env=Env.test, database_url=url, base_url=FIELDBRIDGE)
    app = receiver_app(settings, http)
    back.app = app
    db: Database = app.state.db
    box = SecretBox(settings.secret)
    run = Run()
    control = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=SANDBOX)
    try:
        progress("setup: sync the projects")
        bed = await _setup(db, settings, http, control, opts)
        progress("setup done: the simulated hour")
        run.synced, bed.projects = bed.projects, bed.projects[:20]  # clock-outs on 20 of them
        await control.put("/_sandbox/rate_limits", json={"hourly": opts.hourly, "spike": opts.spike})
        await control.put("/_sandbox/webhooks/drop", json={"rate": opts.drop, "seed": opts.seed})
        async with db.transaction() as session:  # a fresh budget: what the hour spends is all it shows
            await session.execute(delete(RateBudget).where(RateBudget.connection_id == bed.connection_id))
        _use_clock(opts.speed)
        sandbox.state.sandbox.store.clock = sim_now
        started = sim_now()
        local = LocalRunner(
            db, http, settings, DeliveryConfig(poll_seconds=0.05, lease_seconds=30 * opts.speed)
        )
        await local.start()
        scheduler_stop = asyncio.Event()
        tasks = [
            asyncio.create_task(run_sync_scheduler(app.state, poll_seconds=0.05, stop=scheduler_stop)),
            asyncio.create_task(_changes(control, bed, opts, run)),
            asyncio.create_task(_clockouts(db, bed, opts, run)),
        ]
        watcher = asyncio.create_task(_watch(db, bed, run))
        await sim_sleep(opts.minutes * 60)
        async with db.sessionmaker() as session:
            usage = usage_report(await session.get(RateBudget, bed.connection_id))
        hour = (sim_now() - started) / 3600
        run.phase = "loaded"
        progress("the hour is over: clock-outs with a full reconcile running")
        full = asyncio.create_task(_full_reconcile(db, http, box, bed.connection_id, run))
        await sim_sleep(opts.loaded_minutes * 60)
        run.phase = "grace"
        progress("waiting for changes still in flight")
        for _ in range(120):  # up to 10 minutes for changes still in flight (a dropped one waits a check)
            if all(c.reached is not None for c in run.changes):
                break
            await sim_sleep(5)
        run.stop.set()
        scheduler_stop.set()
        progress("stopping")
        await full
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(watcher, timeout=2)
        watcher.cancel()
        await local.stop()
        progress("stopped: figures")
        quiet = await _export_p95(db, run, "quiet")
        loaded = await _export_p95(db, run, "loaded")
    finally:
        clock.configure(os.environ)
        await control.aclose()
        await db.dispose()
    idle = usage.by_class["reconcile"] / max(hour, 1e-9)
    # The webhook path is event-driven: its latency is wall-clock (on the simulated clock the
    # same CPU work would count `speed` times over); a dropped change waits for a check, a
    # cadence on the simulated clock.
    announced = [c.reached_wall - c.wall for c in run.changes if c.reached_wall is not None and not c.dropped]
    recovered = [c.reached - c.at for c in run.changes if c.reached is not None and c.dropped]
    return {
        "idle_requests_per_project_hour": round(idle / max(1, opts.projects), 4),
        "idle_budget_share": round(idle / opts.hourly, 4),
        "export_p95_ms": round(loaded),
        "export_p95_ms_quiet": round(quiet),
        "export_p95_ratio": round(loaded / max(quiet, 1e-9), 3),
        "changes_made": len(run.changes),
        "changes_missed": sum(1 for c in run.changes if c.reached is None),
        "change_latency_p95_s": round(_percentile(announced, 95), 2),
        "reconcile_latency_p95_s": round(_percentile(recovered, 95), 2),
    }


@bench_app.command("scale")
def scale(
    projects: int = typer.Option(500, help="Projects of the Large GC company turned on and synced."),
    speed: float = typer.Option(30.0, help="Simulated seconds per real second."),
    minutes: float = typer.Option(60.0, help="Simulated minutes of the quiet hour."),
    loaded_minutes: float = typer.Option(10.0, help="Simulated minutes with a full reconcile running."),
    changes: int = typer.Option(120, help="Random changes in the sandbox per simulated hour."),
    clockouts: float = typer.Option(2.0, help="Clock-outs per simulated minute."),
    drop: float = typer.Option(0.05, help="Share of webhooks the sandbox drops."),
    hourly: int = typer.Option(
        600, help="The sandbox's hourly limit (Procore's current documented example)."
    ),
    spike: int = typer.Option(25, help="The sandbox's 10-second spike limit."),
) -> None:
    """One Procore budget for 500 projects over a simulated hour; prints one JSON line."""
    opts = Options(projects, speed, minutes, loaded_minutes, changes, clockouts, drop, hourly, spike)
    with tempfile.TemporaryDirectory() as scratch:
        url = (
            os.environ.get("FIELDBRIDGE_DATABASE_URL") or f"sqlite+aiosqlite:///{Path(scratch) / 'scale.db'}"
        )
        asyncio.run(upgrade_async(url))
        emit(asyncio.run(run_scale(opts, url)))
