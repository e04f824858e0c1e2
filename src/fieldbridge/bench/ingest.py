"""`fieldbridge bench ingest` and `fieldbridge bench summary`: safety detections.

ingest: on the configured database it seeds a company with a safety site, starts `uvicorn` as
real server processes and posts batches of 1,000 detections over kept-alive HTTP connections
(`events_per_s`, the bodies built before the clock starts). In the same run it writes the same
number of rows with the plainest fast path the database has (`floor_events_per_s`: asyncpg's
`copy_records_to_table` on PostgreSQL, `executemany` on SQLite) and reports the `ratio`. Then
it sends single events open-loop at `--single-rate` per second and reports `p99_ms` from each
request's due time (no coordinated omission).

summary: seeds one site-day with `--events` detections and PPE observations and reports the
median of 5 computations of its daily summary (`summary_ms`).
"""

import asyncio
import json
import multiprocessing
import secrets
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import typer

from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.clockin import _free_port, _Line, _percentile, _serve
from fieldbridge.settings import Settings

TYPES = ("ppe_violation", "zone_breach", "fall", "proximity", "near_miss")


async def _seed_endpoints(settings: Settings, company_id: int, count: int) -> None:
    """`count` enabled webhook endpoints taking `detection.created`: every stored event queues
    one ledger row each (no runner sends them here; the bench measures the ingest)."""
    from fieldbridge.connections.models import Connection, ConnectionStatus
    from fieldbridge.kit.db import Database
    from fieldbridge.webhooks.models import WebhookEndpoint
    from fieldbridge.webhooks.repository import WebhookRepository

    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            for n in range(count):
                url = f"https://hooks.example.com/bench/{n}"
                connection = Connection(
                    company_id=company_id,
                    provider="webhook",
                    label=f"Bench receiver {n}",
                    status=ConnectionStatus.connected,
                    config={"url": url},
                    credentials_version=0,
                )
                endpoint = WebhookEndpoint(company_id=company_id, event_types=["detection.created"])
                await WebhookRepository.from_session(session).add(connection, endpoint)
    finally:
        await db.dispose()


async def _seed_site(settings: Settings) -> dict[str, Any]:
    from fieldbridge.accounts import service as accounts
    from fieldbridge.accounts.schemas import ApiKeyIn
    from fieldbridge.connections.models import Connection
    from fieldbridge.kit.db import Database
    from fieldbridge.safety.models import SafetyShift, SafetySite, SafetyZone
    from fieldbridge.sites.models import Project

    db = Database(settings.database_url)
    code = f"S{secrets.token_hex(4).upper()}"
    try:
        async with db.transaction() as session:
            company = await accounts.create_company(session, f"Safety bench {code}", code)
            connection = Connection(company_id=company.id, provider="procore", label="Bench", config={})
            session.add(connection)
            await session.flush()
            project = Project(
                company_id=company.id,
                connection_id=connection.id,
                external_id=str(9_100_000_000 + company.id),
                name="Bench site",
                time_zone="America/Chicago",
            )
            session.add(project)
            await session.flush()
            site = SafetySite(
                company_id=company.id, project_id=project.id, name="Bench site", time_zone="America/Chicago"
            )
            session.add(site)
            await session.flush()
            zones = [
                SafetyZone(
                    company_id=company.id,
                    site_id=site.id,
                    name=f"Deck {n}",
                    type="ppe_required",
                    required_ppe=["hard_hat", "hi_vis_vest"],
                )
                for n in range(4)
            ]
            zones.append(SafetyZone(company_id=company.id, site_id=site.id, name="Crane", type="restricted"))
            session.add_all(zones)
            from datetime import time as wall

            session.add_all(
                [
                    SafetyShift(
                        company_id=company.id,
                        site_id=site.id,
                        name="Day",
                        start_time=wall(6),
                        end_time=wall(14),
                    ),
                    SafetyShift(
                        company_id=company.id,
                        site_id=site.id,
                        name="Late",
                        start_time=wall(14),
                        end_time=wall(22),
                    ),
                    SafetyShift(
                        company_id=company.id,
                        site_id=site.id,
                        name="Night",
                        start_time=wall(22),
                        end_time=wall(6),
                    ),
                ]
            )
            await session.flush()
            _, token = await accounts.create_api_key(
                session, company.id, ApiKeyIn(name="bench edge", scopes=["detections:write"])
            )
            return {
                "company_id": company.id,
                "site_id": site.id,
                "zones": [z.id for z in zones],
                "token": token,
            }
    finally:
        await db.dispose()


def _event(seed: dict[str, Any], tag: str, n: int, at: datetime) -> dict[str, Any]:
    kind = TYPES[n % len(TYPES)]
    zone = seed["zones"][-1] if kind == "zone_breach" else seed["zones"][n % 4]
    return {
        "event_id": f"{tag}-{n}",
        "site_id": seed["site_id"],
        "zone_id": zone,
        "type": kind,
        "missing_items": ["hard_hat"] if kind == "ppe_violation" else [],
        "priority": 1 + n % 5,
        "source": "camera",
        "source_ref": f"cam-{n % 16}",
        "occurred_at": at.isoformat(),
        "confidence": 0.9,
        "evidence": [{"kind": "frame", "url": f"https://edge.example.com/f/{n}.jpg"}],
    }


async def _post_batches(ports: list[int], bodies: list[bytes], token: str, lines: int) -> tuple[float, int]:
    pool: asyncio.Queue[_Line] = asyncio.Queue()
    for n in range(lines):
        pool.put_nowait(await _Line.open(ports[n % len(ports)]))
    errors = 0

    async def one(body: bytes) -> None:
        nonlocal errors
        line = await pool.get()
        status = await line.post("/api/v1/detections/batch", body, token)
        pool.put_nowait(line)
        errors += status != 200

    start = time.perf_counter()
    await asyncio.gather(*(one(b) for b in bodies))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return elapsed, errors


async def _singles(ports: list[int], seed: dict[str, Any], rate: float, seconds: float) -> dict[str, Any]:
    pool: asyncio.Queue[_Line] = asyncio.Queue()
    for n in range(8):
        pool.put_nowait(await _Line.open(ports[n % len(ports)]))
    latencies: list[float] = []
    errors = 0
    tag = secrets.token_hex(4)

    async def one(n: int, due: float) -> None:
        nonlocal errors
        body = json.dumps(_event(seed, f"single-{tag}", n, datetime.now(UTC))).encode()
        line = await pool.get()
        status = await line.post("/api/v1/detections", body, seed["token"])
        pool.put_nowait(line)
        latencies.append(time.perf_counter() - due)
        errors += status != 201

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        task = asyncio.create_task(one(n, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    return {
        "singles": len(latencies),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "single_errors": errors,
    }


def _load(
    ports: list[int],
    seed: dict[str, Any],
    bodies: list[bytes],
    lines: int,
    rate: float,
    seconds: float,
    out: Any,
) -> None:
    async def go() -> dict[str, Any]:
        elapsed, errors = await _post_batches(ports, bodies, seed["token"], lines)
        singles = await _singles(ports, seed, rate, seconds)
        return {"batch_seconds": elapsed, "batch_errors": errors, **singles}

    out.put(asyncio.run(go()))


def _rows(seed: dict[str, Any], tag: str, count: int, start: datetime) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        e = _event(seed, tag, n, start + timedelta(milliseconds=n))
        out.append(
            (
                seed["company_id"], e["site_id"], e["zone_id"], e["event_id"], e["type"],
                json.dumps(e["missing_items"]), e["priority"], e["source"], e["source_ref"], None, None,
                start + timedelta(milliseconds=n), -360, e["confidence"], None, json.dumps(e["evidence"]),
                "new", now, now,
            )
        )  # fmt: skip
    return out


COLUMNS = (
    "company_id", "site_id", "zone_id", "client_event_id", "type", "missing_items", "priority", "source",
    "source_ref", "device_id", "worker_id", "occurred_at", "utc_offset_minutes", "confidence", "description",
    "evidence", "state", "received_at", "updated_at",
)  # fmt: skip


async def _floor(settings: Settings, rows: list[tuple[Any, ...]]) -> float:
    """Seconds to write the rows the plainest fast way the database has."""
    if settings.is_sqlite:
        import aiosqlite

        path = settings.database_url.split("///", 1)[1]
        async with aiosqlite.connect(path) as conn:
            marks = ", ".join("?" for _ in COLUMNS)
            sql = f"INSERT INTO detections ({', '.join(COLUMNS)}) VALUES ({marks})"
            start = time.perf_counter()
            stamp = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a UTC instant in SQLite
            plain = [
                tuple(v.astimezone(UTC).strftime(stamp) if isinstance(v, datetime) else v for v in r)
                for r in rows
            ]
            await conn.executemany(sql, plain)
            await conn.commit()
            return time.perf_counter() - start
    import asyncpg

    conn = await asyncpg.connect(settings.database_url.replace("postgresql+asyncpg", "postgresql", 1))
    try:
        start = time.perf_counter()
        await conn.copy_records_to_table("detections", records=rows, columns=list(COLUMNS))
        return time.perf_counter() - start
    finally:
        await conn.close()


@bench_app.command("ingest")
def ingest(
    batches: int = typer.Option(30, help="Batches of 1,000 events to post (default 30,000 events)."),
    quick: bool = typer.Option(False, "--quick", help="A short, light run (a smoke test)."),
    servers: int = typer.Option(2, help="uvicorn server processes."),
    connections: int = typer.Option(4, help="Kept-alive connections posting batches."),
    single_rate: float = typer.Option(100.0, help="Single events per second for p99_ms."),
    single_seconds: float = typer.Option(10.0, help="How long to send single events."),
    webhooks: int = typer.Option(
        0, help="Webhook endpoints taking detection.created (each stored event queues a message each)."
    ),
) -> None:
    """Detections through the batch endpoint vs a plain bulk write; one JSON line."""
    from fieldbridge.kit.migrate import upgrade

    if quick:
        batches, single_seconds = 2, 2.0
    settings = Settings()
    upgrade(settings.database_url)
    seed = asyncio.run(_seed_site(settings))
    if webhooks:
        asyncio.run(_seed_endpoints(settings, seed["company_id"], webhooks))
    tag = secrets.token_hex(4)
    at = datetime.now(UTC) - timedelta(minutes=1)
    bodies = [
        json.dumps({"events": [_event(seed, f"{tag}-b{b}", n, at) for n in range(1000)]}).encode()
        for b in range(batches)
    ]
    ports = [_free_port() for _ in range(servers)]
    procs = [_serve(settings, port) for port in ports]
    try:
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        load = spawn.Process(
            target=_load, args=(ports, seed, bodies, connections, single_rate, single_seconds, results)
        )
        load.start()
        deadline = time.monotonic() + 600
        while results.empty():
            if not load.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the load generator stopped without a result")
            time.sleep(0.2)
        result = results.get()
        load.join(timeout=10)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
    events = batches * 1000
    floor_seconds = asyncio.run(_floor(settings, _rows(seed, f"floor-{tag}", events, at)))
    events_per_s = events / result.pop("batch_seconds")
    floor_per_s = events / floor_seconds
    emit(
        {
            "scenario": "ingest",
            "database": "sqlite" if settings.is_sqlite else "postgresql",
            "events": events,
            "servers": servers,
            "events_per_s": round(events_per_s),
            "floor": "executemany" if settings.is_sqlite else "copy_records_to_table",
            "floor_events_per_s": round(floor_per_s),
            "ratio": round(events_per_s / floor_per_s, 3),
            "single_rate": single_rate,
            "webhooks": webhooks,
            **result,
        }
    )


async def _seed_day(settings: Settings, events: int, day: date) -> dict[str, Any]:
    from fieldbridge.kit.zones import day_bounds, zone

    seed = await _seed_site(settings)
    start, end = day_bounds(day, zone("America/Chicago"))
    step = (end - start) / events
    rows = _rows(seed, "day", events, start)
    rows = [(*r[:11], start + step * n, *r[12:]) for n, r in enumerate(rows)]
    await _floor(settings, rows)
    from fieldbridge.kit.db import Database
    from fieldbridge.safety.models import PpeObservation

    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            session.add_all(
                PpeObservation(
                    company_id=seed["company_id"],
                    site_id=seed["site_id"],
                    zone_id=seed["zones"][n % 4],
                    client_event_id=f"obs-{n}",
                    observed_at=start + (end - start) * n / 2000,
                    persons=5,
                )
                for n in range(2000)
            )
    finally:
        await db.dispose()
    return seed


@bench_app.command("summary")
def summary_bench(
    events: int = typer.Option(200_000, help="Detections on the site-day."),
    quick: bool = typer.Option(False, "--quick", help="A short, light run (a smoke test)."),
    runs: int = typer.Option(5, help="Computations; the median is reported."),
) -> None:
    """The daily summary of a site-day with many events, computed in SQL; one JSON line."""
    from fieldbridge.kit.db import Database
    from fieldbridge.kit.migrate import upgrade
    from fieldbridge.safety import summary
    from fieldbridge.safety.models import SafetySite

    if quick:
        events = 5_000
    settings = Settings()
    upgrade(settings.database_url)
    day = date(2026, 11, 30)
    seed = asyncio.run(_seed_day(settings, events, day))

    async def measure() -> tuple[list[float], dict[str, Any]]:
        db = Database(settings.database_url)
        timings = []
        data: dict[str, Any] = {}
        try:
            async with db.transaction() as session:
                site = await session.get(SafetySite, seed["site_id"])
                assert site is not None
                if not settings.is_sqlite:
                    from sqlalchemy import text

                    await session.execute(text("ANALYZE detections"))
                for _ in range(runs):
                    start = time.perf_counter()
                    data = await summary.compute(session, site, day)
                    timings.append((time.perf_counter() - start) * 1000)
        finally:
            await db.dispose()
        return timings, data

    timings, data = asyncio.run(measure())
    emit(
        {
            "scenario": "summary",
            "database": "sqlite" if settings.is_sqlite else "postgresql",
            "events": events,
            "counted": data["alerts"]["total"],
            "runs": runs,
            "summary_ms": round(statistics.median(timings), 1),
            "summary_ms_min": round(min(timings), 1),
            "summary_ms_max": round(max(timings), 1),
        }
    )
