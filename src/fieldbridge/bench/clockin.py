"""`fieldbridge bench clockin`: the clock-in / clock-out API under an open-loop load.

On the configured database (FIELDBRIDGE_DATABASE_URL) it seeds a company with a Procore
connection, one synced project with a milestone and simulated workers signed in on their
"phones", starts `uvicorn` as a real server process (delivery runner off: the cost measured
is the API's, including the ledger rows each call writes) and drives it from a second
process at a fixed arrival rate: every simulated worker alternates clock-in and clock-out of
its own shift. Latency is measured from each request's scheduled time, so a slow server
cannot hide its queueing (no coordinated omission). Prints one JSON line.
"""

import asyncio
import json
import multiprocessing
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import typer

from fieldbridge.bench import bench_app, emit, history
from fieldbridge.bench.floor import PATH as FLOOR_PATH
from fieldbridge.settings import Settings

QUICK_RATE = 50.0
QUICK_SECONDS = 4.0


@dataclass
class Phone:
    worker_id: int
    token: str
    shift_id: str | None = None  # set while on the clock


@dataclass
class Seeded:
    milestone_id: int
    phones: list[Phone] = field(default_factory=list)


async def _seed(settings: Settings, workers: int, history_days: int = 0) -> Seeded:
    from fieldbridge.accounts import service as accounts
    from fieldbridge.accounts.schemas import WorkerIn
    from fieldbridge.connections.models import Connection, ConnectionStatus
    from fieldbridge.kit.db import Database
    from fieldbridge.sites.models import Milestone, ProcorePerson, Project

    db = Database(settings.database_url)
    code = f"B{secrets.token_hex(4).upper()}"
    try:
        async with db.transaction() as session:
            company = await accounts.create_company(session, f"Bench {code}", code)
            connection = Connection(
                company_id=company.id,
                provider="procore",
                label="Bench Procore",
                status=ConnectionStatus.connected,
                external_account_id="9000000001",
                config={},
            )
            session.add(connection)
            await session.flush()
            project = Project(
                company_id=company.id,
                connection_id=connection.id,
                external_id="9000000100",
                name="Bench Tower",
                sync_enabled=True,
            )
            session.add(project)
            await session.flush()
            milestone = Milestone(
                company_id=company.id,
                project_id=project.id,
                key="procore:budget_line:cc:9000000200:cat:9000000300",
                cost_code_external_id="9000000200",
                line_item_type_external_id="9000000300",
                name="03-100 Concrete · Labor",
                budgeted_hours=1000.0,
            )
            session.add(milestone)
            await session.flush()
            seeded = Seeded(milestone.id)
            for n in range(workers):
                pin = f"{100000 + n}"
                worker = await accounts.create_worker(
                    session, settings, company.id, WorkerIn(name=f"Bench Worker {n}", pin=pin)
                )
                session.add(
                    ProcorePerson(
                        company_id=company.id,
                        connection_id=connection.id,
                        external_id=str(9_000_001_000 + n),
                        name=worker.name,
                        worker_id=worker.id,
                    )
                )
                _, _, token = await accounts.sign_in_worker(session, settings, code, pin)
                seeded.phones.append(Phone(worker.id, token))
            await history.seed(
                session,
                company.id,
                connection.id,
                project.id,
                milestone.id,
                [p.worker_id for p in seeded.phones],
                history_days,
            )
        return seeded
    finally:
        await db.dispose()


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class _Line:
    """A kept-alive HTTP/1.1 connection: far less client CPU per request than a full client,
    so the load generator measures the server rather than itself."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port = port
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> "_Line":
        return cls(port, *await asyncio.open_connection("127.0.0.1", port))

    async def post(self, path: str, body: bytes, token: str) -> int:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        chunked = False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            while size := int((await self.reader.readline()).strip(), 16):
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        else:
            await self.reader.readexactly(length)
        return status


async def _drive(
    ports: list[int], seeded: Seeded, rate: float, seconds: float, lines: int, floor: bool = False
) -> dict[str, Any]:
    """Open loop: request n is due at start + n / rate and goes out on the next free line
    with the next idle phone; latency counts from the due time (queueing included). Lines are
    spread evenly over the server processes, as a load balancer would. With `floor`, every
    request is the floor's (same token, same lines, same rate) instead of a clock-in/out."""
    idle = deque(seeded.phones)
    pool: asyncio.Queue[_Line] = asyncio.Queue()
    for n in range(lines):
        pool.put_nowait(await _Line.open(ports[n % len(ports)]))
    latencies: list[float] = []
    errors = 0
    starved = 0

    async def one(phone: Phone, due: float) -> None:
        nonlocal errors
        now = datetime.now(UTC).isoformat()
        body: dict[str, Any]
        shift_id: str | None
        if floor:
            shift_id, body, path = phone.shift_id, {}, FLOOR_PATH
        elif phone.shift_id is None:
            shift_id = uuid.uuid4().hex
            body = {
                "id": uuid.uuid4().hex,
                "milestone_id": seeded.milestone_id,
                "started_at": now,
                "members": [{"worker_id": phone.worker_id, "shift_id": shift_id}],
            }
            path = "/api/v1/time/clock-in"
        else:
            shift_id = phone.shift_id
            body = {"id": uuid.uuid4().hex, "shift_ids": [shift_id], "ended_at": now, "injured": False}
            path = "/api/v1/time/clock-out"
        line = await pool.get()
        try:
            status = await line.post(path, json.dumps(body).encode(), phone.token)
            pool.put_nowait(line)
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
            status = 0
            pool.put_nowait(await _Line.open(line.port))
        latencies.append(time.perf_counter() - due)
        if status in (200, 201):
            if not floor:
                phone.shift_id = shift_id if path.endswith("clock-in") else None
        else:
            errors += 1
        idle.append(phone)

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter()
    for n in range(int(rate * seconds)):
        due = start + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        if not idle:
            starved += 1
            continue
        task = asyncio.create_task(one(idle.popleft(), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().writer.close()
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "p90_ms": round(_percentile(latencies, 90) * 1000, 1),
        "max_ms": round(max(latencies, default=0.0) * 1000, 1),
        "errors": errors + starved,
        "starved": starved,
    }


def _load_process(
    ports: list[int], seeded: Seeded, rate: float, seconds: float, lines: int, floor: bool, out: Any
) -> None:
    """The load generator's process; it reports its own CPU per request too, so a run where the
    generator rather than the server was the bottleneck shows as such."""
    cpu = time.process_time()
    result = asyncio.run(_drive(ports, seeded, rate, seconds, lines, floor))
    result["client_cpu_ms_per_request"] = round(
        (time.process_time() - cpu) * 1000 / max(1, result["requests"]), 2
    )
    out.put(result)


def _cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its children (uvicorn's workers), from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == root or int(fields[1]) == root:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_RUNNER": "none",
        # No Procore re-sync loop either: it is not the API's cost, and its failing passes over
        # the bench's made-up connection each render a traceback that stalls the event loop.
        "FIELDBRIDGE_SCHEDULER": "false",
        "FIELDBRIDGE_ENV": os.environ.get("FIELDBRIDGE_ENV", "dev"),
    }
    command = [
        sys.executable, "-m", "uvicorn", "fieldbridge.cli:create_bench_server_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools",
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 - our interpreter
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None:
            raise RuntimeError("the FieldBridge server exited during start-up")
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the FieldBridge server did not become ready in 30 s")


def _phase(
    procs: list[subprocess.Popen[bytes]],
    ports: list[int],
    seeded: Seeded,
    rate: float,
    seconds: float,
    connections: int,
    floor: bool,
) -> dict[str, Any]:
    """One open-loop phase from a fresh generator process; adds the servers' CPU per request."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    load = spawn.Process(
        target=_load_process, args=(ports, seeded, rate, seconds, connections, floor, results)
    )
    cpu_before = sum(_cpu_seconds(p.pid) for p in procs)
    load.start()
    deadline = time.monotonic() + seconds + 120
    while results.empty():
        if not load.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the load generator stopped without a result")
        time.sleep(0.2)
    result: dict[str, Any] = results.get()
    cpu = sum(_cpu_seconds(p.pid) for p in procs) - cpu_before
    result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(1, result["requests"]), 2)
    load.join(timeout=10)
    return result


def run(
    settings: Settings,
    rate: float,
    seconds: float,
    phones: int,
    servers: int,
    connections: int,
    warmup: float = 0.0,
    history_days: int = 0,
) -> dict[str, Any]:
    """Seed, start the servers, warm them up (`warmup` seconds at the rate, with phones of
    their own, not measured), drive clock-in/out, then the floor at the same rate and seconds
    on the same servers; the result as `bench clockin` prints it."""
    from fieldbridge.bench import floor
    from fieldbridge.kit.migrate import upgrade

    upgrade(settings.database_url)
    count = phones or max(50, int(rate * 2))
    warm_count = max(10, int(rate / 2)) if warmup else 0
    everyone = asyncio.run(_seed(settings, count + warm_count, history_days))
    seeded = Seeded(everyone.milestone_id, everyone.phones[:count])
    warm = Seeded(everyone.milestone_id, everyone.phones[count:])
    history.analyze(settings)
    asyncio.run(floor.create_table(settings.database_url))
    ports = [_free_port() for _ in range(servers)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.extend(_serve(settings, port) for port in ports)
        if warmup:
            _phase(procs, ports, warm, rate, warmup, connections, floor=False)
        result = _phase(procs, ports, seeded, rate, seconds, connections, floor=False)
        base = _phase(procs, ports, seeded, rate, seconds, connections, floor=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        asyncio.run(floor.drop_table(settings.database_url))
    ours, least = result["server_cpu_ms_per_request"], base["server_cpu_ms_per_request"]
    return {
        "scenario": "clockin",
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "rate": rate,
        "seconds": seconds,
        "phones": len(seeded.phones),
        "servers": servers,
        "warmup_seconds": warmup,
        "history_days": history_days,
        **result,
        "floor_cpu_ms_per_request": least,
        "floor_client_cpu_ms_per_request": base["client_cpu_ms_per_request"],
        "floor_errors": base["errors"],
        "floor_p99_ms": base["p99_ms"],
        "cpu_ratio": round(ours / least, 2) if least else None,
    }


@bench_app.command("clockin")
def clockin(
    rate: float = typer.Option(
        None, help="Requests per second (open loop). Default 200, or 50 with --quick."
    ),
    seconds: float = typer.Option(None, help="How long to send. Default 20, or 4 with --quick."),
    quick: bool = typer.Option(False, "--quick", help="A short, light run (a smoke test)."),
    phones: int = typer.Option(0, help="Simulated workers (default: 2 x rate, at least 50)."),
    servers: int = typer.Option(
        2, help="uvicorn server processes (one port each, balanced by the generator)."
    ),
    connections: int = typer.Option(32, help="Kept-alive connections the load generator uses."),
    warmup: float = typer.Option(
        3.0,
        help="Seconds of the same load before measuring, from phones of their own (0: none): "
        "servers as they are at 7 AM, long started, not cold from a deploy.",
    ),
    history: int = typer.Option(
        history.DAYS,
        help="Days of past shifts (closed and delivered) seeded for every worker before the run, "
        "as a company at 7 AM has them (0: none).",
    ),
) -> None:
    """Load-test clock-in and clock-out, then the stack's floor, on the configured database;
    one JSON line."""
    rate = rate or (QUICK_RATE if quick else 200.0)
    seconds = seconds or (QUICK_SECONDS if quick else 20.0)
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    emit(
        run(
            Settings(),
            rate,
            seconds,
            phones,
            servers,
            connections,
            0.0 if quick else warmup,
            0 if quick else history,
        )
    )
