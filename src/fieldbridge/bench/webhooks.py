"""`fieldbridge bench webhooks`: events through the ledger to a local receiver.

Each message is one `webhooks.service.emit` in its own transaction; the local runner delivers
it to a receiver on loopback (a bare asyncio HTTP server, so faults can be real: a 5xx, a
response that never comes, a connection dropped after the receiver took the message). The
receiver verifies every signature and de-duplicates by `webhook-id`, as receivers must:
`duplicates` counts messages it saw again, `lost` messages it never took. Latency is the
emitting commit -> the receiver taking the message.

Retries follow the shipped schedule's shape, scaled down (0.2 s waits, 1 s timeout), so a
faulty run ends in seconds instead of hours; that is the one difference from production.
"""

import asyncio
import contextlib
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import typer
from sqlalchemy import select

from fieldbridge.bench import bench_app, emit
from fieldbridge.bench.export import _percentile
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.webhooks.receiver import ReferenceReceiver

TERMINAL = {Status.delivered, Status.rejected, Status.failed, Status.cancelled}
TIMEOUT_SECONDS = 1.0
SCHEDULE = (0.2,) * 7
FAULTS = {"error_rate": 0.10, "hang_rate": 0.01, "drop_after_commit_rate": 0.05}


@dataclass
class FaultyReceiver:
    """HTTP/1.1 over asyncio streams: enough of it for POSTs with a Content-Length."""

    inner: ReferenceReceiver
    faults: bool
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    taken_at: dict[str, float] = field(default_factory=dict)
    injected: dict[str, int] = field(default_factory=lambda: {"5xx": 0, "hang": 0, "drop": 0})

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._answer(body, headers, writer):
                    break
        writer.close()

    async def _answer(self, body: bytes, headers: dict[str, str], writer: asyncio.StreamWriter) -> bool:
        roll = self.rng.random() if self.faults else 1.0
        if roll < FAULTS["error_rate"]:
            self.injected["5xx"] += 1
            return await self._respond(writer, 500, b"injected failure")
        roll -= FAULTS["error_rate"]
        if roll < FAULTS["hang_rate"]:
            self.injected["hang"] += 1
            await asyncio.sleep(TIMEOUT_SECONDS + 0.5)  # the sender gives up first
            return False
        roll -= FAULTS["hang_rate"]
        status, _said = self.inner.take(body, headers)
        if status == 200:
            self.taken_at.setdefault(headers.get("webhook-id", ""), time.time())
        if roll < FAULTS["drop_after_commit_rate"]:
            self.injected["drop"] += 1
            return False  # taken, but the answer never leaves: the sender must retry
        return await self._respond(writer, status, b"ok")

    @staticmethod
    async def _respond(writer: asyncio.StreamWriter, status: int, text: bytes) -> bool:
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: {len(text)}\r\ncontent-type: text/plain\r\n\r\n".encode()
            + text
        )
        await writer.drain()
        return True


async def _setup(db: Database, settings: Settings, url: str) -> tuple[int, str]:
    from fieldbridge.accounts import service as accounts
    from fieldbridge.webhooks import service as webhooks
    from fieldbridge.webhooks.schemas import EndpointIn

    async with db.transaction() as session:
        company = await accounts.create_company(session, "Bench webhooks", f"BW{os.getpid()}")
        _endpoint, _connection, secret = await webhooks.create(
            session, settings, company.id, EndpointIn(url=url, event_types=["shift.closed"])
        )
        return company.id, secret


async def run(messages: int, faults: bool, settings: Settings) -> dict[str, Any]:
    from fieldbridge.connectors.registry import build_registry
    from fieldbridge.connectors.webhooks import connector as webhook_connector
    from fieldbridge.delivery.local import LocalRunner
    from fieldbridge.delivery.runner import install_registry, registry
    from fieldbridge.webhooks import service as webhooks
    from fieldbridge.webhooks.events import EVENTS

    reg = build_registry()
    reg.specs.pop("webhook")
    reg.handlers.pop(webhook_connector.KIND)
    reg.register(webhook_connector.spec(timeout_seconds=TIMEOUT_SECONDS, retry_schedule=SCHEDULE))
    shipped = registry()
    install_registry(reg)
    receiver = FaultyReceiver(ReferenceReceiver([]), faults)
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    db = Database(settings.database_url)
    committed: dict[str, float] = {}
    try:
        company_id, secret = await _setup(db, settings, f"http://127.0.0.1:{port}/hooks")
        receiver.inner.secrets = [secret]
        local = LocalRunner(db, HttpClients(), settings, DeliveryConfig(poll_seconds=0.1))
        await local.start()
        started = time.time()
        try:
            for _ in range(messages):
                async with db.transaction() as session:
                    (row,) = await webhooks.emit(
                        session, company_id, "shift.closed", EVENTS["shift.closed"].example
                    )
                committed[row.idempotency_key] = time.time()
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                async with db.sessionmaker() as session:
                    open_rows = await session.scalar(
                        select(Delivery.id)
                        .where(Delivery.company_id == company_id, Delivery.status.not_in(TERMINAL))
                        .limit(1)
                    )
                if open_rows is None:
                    break
                await asyncio.sleep(0.1)
        finally:
            await local.stop()
        async with db.sessionmaker() as session:
            found = await session.scalars(select(Delivery.status).where(Delivery.company_id == company_id))
            statuses = list(found.all())
    finally:
        server.close()
        await db.dispose()
        install_registry(shipped)
    taken = {m: at for m, at in receiver.taken_at.items() if m in committed}
    last = max(taken.values(), default=started)
    latencies = [(at - committed[m]) * 1000 for m, at in taken.items()]
    return {
        "scenario": "webhooks",
        "database": "sqlite" if settings.is_sqlite else "postgresql",
        "faults": faults,
        "injected": receiver.injected if faults else {},
        "messages": messages,
        "delivered": sum(1 for s in statuses if s == Status.delivered),
        "messages_per_s": round(len(taken) / max(0.001, last - started), 1),
        "latency_p50_ms": round(_percentile(latencies, 50)),
        "latency_p95_ms": round(_percentile(latencies, 95)),
        "duplicates": receiver.inner.duplicates,
        "lost": messages - len(taken),
        "seconds": round(time.time() - started, 2),
    }


@bench_app.command("webhooks")
def webhooks_bench(
    messages: int = typer.Option(500, help="Events emitted (one transaction each)."),
    faults: bool = typer.Option(False, help="Receiver: 10% 5xx, 1% timeouts, 5% dropped after taking it."),
) -> None:
    """Emit events, deliver them to a local receiver, print one JSON line of counts and latencies."""
    os.environ.setdefault("FIELDBRIDGE_ENV", "dev")
    with tempfile.TemporaryDirectory() as scratch:
        if "FIELDBRIDGE_DATABASE_URL" not in os.environ:
            os.environ["FIELDBRIDGE_DATABASE_URL"] = f"sqlite+aiosqlite:///{scratch}/bench-webhooks.db"
        settings = Settings().model_copy(update={"webhooks_allow_private": True})  # the receiver is local
        from fieldbridge.kit.migrate import upgrade

        upgrade(settings.database_url)
        emit(asyncio.run(run(messages, faults, settings)))
