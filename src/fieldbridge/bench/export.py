"""`fieldbridge bench export`: clock-outs into Procore (the sandbox) through the ledger.

Counts come from the sandbox (`/_sandbox/records/timecard_entries`), not from our tables:
`delivered` = distinct ledger rows with an entry, `duplicates` = extra entries for a row,
`lost` = rows with no entry. Latency is enqueue (the clock-out's commit) -> delivered.

A "clock-out" here is `clock_out()`: one transaction that enqueues the shift's timecard
create. Timekeeping's real clock-out commits the same way and can be swapped in there.
"""

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import typer
from sqlalchemy import ColumnElement, select

from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.testbed import (
    ExportRig,
    clock_out,
    free_port,
    served_sandbox,
    setup_testbed,
    worker_env,
)
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings

TERMINAL = {Status.delivered, Status.rejected, Status.failed, Status.cancelled}
FAULTS = {
    "error_rate": 0.10,
    "drop_rate": 0.05,
    "timeout_rate": 0.02,
    "hang_seconds": 3.0,
    "retry_after_seconds": 1,
    "random_seed": 7,
}
STORM = {"spike": 10, "spike_window_seconds": 10.0}  # a client ignoring X-Rate-Limit-* collects 429s
CLIENT_TIMEOUT = httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=5.0)


@dataclass
class Options:
    entries: int
    projects: int
    rate: float | None
    faults: bool
    runner: str
    workers: int


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def _workers(bed: ExportRig, settings: Settings, count: int) -> Any:
    env = worker_env(settings, bed.sandbox_url, DeliveryConfig(lease_seconds=10, drain_seconds=10))
    code = "from fieldbridge.cli import app; app()"
    procs = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", code, "worker", "--concurrency", "4"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@asynccontextmanager
async def _runner(options: Options, bed: ExportRig, settings: Settings, db: Database) -> Any:
    if options.runner == "local":
        from fieldbridge.delivery.local import LocalRunner

        local = LocalRunner(
            db,
            HttpClients(timeout=CLIENT_TIMEOUT, allow_emulators=settings.offline_sandbox_allowed),
            settings,
            DeliveryConfig(poll_seconds=0.5),
        )
        await local.start()
        try:
            yield
        finally:
            await local.stop()
        return
    from fieldbridge.delivery.procrastinate_runner import ProcrastinateRunner, ensure_schema

    ensure_schema(settings.database_url)
    deferrer = ProcrastinateRunner(settings)
    await deferrer.open()
    try:
        with _workers(bed, settings, options.workers):
            await _workers_ready(deferrer, options.workers)
            yield
    finally:
        await deferrer.close()


async def _workers_ready(deferrer: Any, count: int) -> None:
    """Clock-outs start once the workers listen (a process takes seconds to boot)."""
    query = (
        "SELECT count(*) AS n FROM procrastinate_workers WHERE last_heartbeat > now() - interval '10 seconds'"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = await deferrer.app.connector.execute_query_all_async(query)
        if rows and int(rows[0]["n"]) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the workers did not start within a minute")


async def _storm(sandbox: httpx.AsyncClient, after: float) -> None:
    await asyncio.sleep(after)
    normal = (await sandbox.put("/_sandbox/rate_limits", json=STORM)).json()
    await asyncio.sleep(15)
    await sandbox.put("/_sandbox/rate_limits", json={**normal, "spike": 100})


async def _clock_out(db: Database, bed: ExportRig, n: int) -> int:
    return await clock_out(db, bed, bed.projects[n % len(bed.projects)], bed.people[n % len(bed.people)], n)


async def _wait(db: Database, which: ColumnElement[bool], deadline: float) -> list[Delivery]:
    """The ledger rows `which` selects, once all are final (or at the deadline)."""
    while True:
        async with db.sessionmaker() as session:
            rows = list((await session.scalars(select(Delivery).where(which))).all())
        if all(r.status in TERMINAL for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


async def run(options: Options, settings: Settings) -> dict[str, Any]:
    with served_sandbox(seed="large", port=free_port()) as sandbox_url:
        db = Database(settings.database_url)
        try:
            bed = await setup_testbed(db, settings, sandbox_url, projects=options.projects)
            async with httpx.AsyncClient(base_url=sandbox_url, timeout=30) as sandbox:
                if options.faults:
                    await sandbox.put("/_sandbox/faults", json=FAULTS)
                before = (await sandbox.get("/_sandbox/requests")).json()["total"]
                started = time.monotonic()
                ids = []
                if options.rate is None:  # a backlog: every clock-out is in before delivery starts
                    ids = [await _clock_out(db, bed, n) for n in range(options.entries)]
                async with _runner(options, bed, settings, db):
                    storm = asyncio.create_task(_storm(sandbox, 1.0)) if options.faults else None
                    paced_from = time.monotonic()
                    for n in range(len(ids), options.entries):
                        ids.append(await _clock_out(db, bed, n))
                        await asyncio.sleep(
                            max(0.0, paced_from + (n + 1) / (options.rate or 1) - time.monotonic())
                        )
                    rows = await _wait(db, Delivery.id.in_(ids), time.monotonic() + 600)
                    if storm is not None:
                        storm.cancel()
                seconds = time.monotonic() - started
                await sandbox.put(
                    "/_sandbox/faults", json={"error_rate": 0, "drop_rate": 0, "timeout_rate": 0}
                )
                stats = (await sandbox.get("/_sandbox/requests")).json()
                records = (await sandbox.get("/_sandbox/records/timecard_entries")).json()
        finally:
            await db.dispose()
    mine = {str(r.id) for r in rows}
    per_row = Counter(str(e.get("origin_id")) for e in records if str(e.get("origin_id")) in mine)
    requests_total = stats["total"] - before
    latencies = [
        (r.delivered_at - r.created_at).total_seconds() * 1000 for r in rows if r.delivered_at is not None
    ]
    http_429 = sum(r["count"] for r in stats["requests"] if r["status"] == 429)
    return {
        "scenario": "export",
        "runner": options.runner,
        "workers": options.workers if options.runner == "procrastinate" else 0,
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "faults": options.faults,
        "rate": options.rate,
        "projects": len(bed.projects),
        "entries": options.entries,
        "delivered": len(per_row),
        "duplicates": sum(n - 1 for n in per_row.values()),
        "lost": options.entries - len(per_row),
        "rejected": sum(1 for r in rows if r.status == Status.rejected),
        "requests_total": requests_total,
        "requests_per_entry": round(requests_total / max(1, options.entries), 4),
        "http_429": http_429,
        "latency_p50_ms": round(_percentile(latencies, 50)),
        "latency_p95_ms": round(_percentile(latencies, 95)),
        "latency_p99_ms": round(_percentile(latencies, 99)),
        "seconds": round(seconds, 2),
    }


@bench_app.command("export")
def export(
    entries: int = typer.Option(5000, help="Clock-outs (one timecard entry each)."),
    projects: int = typer.Option(20, help="Procore projects the entries spread over."),
    rate: float | None = typer.Option(None, help="Clock-outs per second (default: all at once, a backlog)."),
    faults: bool = typer.Option(False, help="10% 5xx, 5% dropped responses, 2% timeouts, one 429 storm."),
    runner: str = typer.Option("local", help="local | procrastinate (PostgreSQL)."),
    workers: int = typer.Option(2, help="`fieldbridge worker` processes (procrastinate runner)."),
    quick: bool = typer.Option(
        False, help="A run under a minute (500 entries, or 25 s of clock-outs with --rate)."
    ),
) -> None:
    """Deliver clock-outs to the sandbox and print one JSON line of counts and latencies."""
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    settings = Settings()
    if runner not in ("local", "procrastinate"):
        raise typer.BadParameter("--runner is local or procrastinate")
    if runner == "procrastinate" and settings.is_sqlite:
        raise typer.BadParameter("--runner procrastinate needs FIELDBRIDGE_DATABASE_URL on PostgreSQL")
    if quick:
        entries = min(entries, 500 if rate is None else int(rate * 25))
    from fieldbridge.kit.migrate import upgrade

    upgrade(settings.database_url)
    emit(asyncio.run(run(Options(entries, projects, rate, faults, runner, workers), settings)))
