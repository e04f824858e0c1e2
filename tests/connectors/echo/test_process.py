"""Every seam at once in a real `fieldbridge serve` process that knows echo only from the one
registry line, FIELDBRIDGE_CONNECTOR_MODULES: an admin connects Echo over HTTP, the 17:00 job
(in a zone where it is past 17:00 now) enqueues the daily note, the local runner delivers it to
Echo, and Echo's webhook about it comes back as FieldBridge's own write."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import time as clock_time
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

import fieldbridge
from fieldbridge.connections.models import Connection
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.states import Status
from fieldbridge.inbound.models import InboundEvent, InboundState
from fieldbridge.jobs.service import due_dates
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.browser import free_port
from tests.connectors.echo.conftest import CONNECTOR_MODULES, connect_body
from tests.connectors.echo.provider import EchoServer
from tests.factories import bearer, create_tenant
from tests.jobs.helpers import projects_in_zones

CATCH_UP = timedelta(minutes=1380)  # the longest window the setting allows
T = TypeVar("T")


def zone_past_17_00() -> str:
    """A fixed-offset zone where today's 17:00 has just passed (due now, the most time left)."""
    now = utcnow()
    best: tuple[float, str] | None = None
    for offset in range(-14, 13):
        name = f"Etc/GMT{offset:+d}" if offset else "Etc/GMT"
        for _, scheduled in due_dates(clock_time(17, 0), ZoneInfo(name), now, CATCH_UP):
            age = (now - scheduled).total_seconds()
            if best is None or age < best[0]:
                best = (age, name)
    assert best is not None
    return best[1]


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIELDBRIDGE_")},
        "PYTHONPATH": os.pathsep.join(
            [str(Path(fieldbridge.__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[3])]
        ),
        "FIELDBRIDGE_ENV": "test",
        "FIELDBRIDGE_DATABASE_URL": settings.database_url,
        "FIELDBRIDGE_SECRET_KEY": settings.secret,
        "FIELDBRIDGE_BASE_URL": base,
        "FIELDBRIDGE_LOG_JSON": "true",
        "FIELDBRIDGE_CONNECTOR_MODULES": CONNECTOR_MODULES,  # the one registry line
        "FIELDBRIDGE_JOBS_CATCH_UP_MINUTES": str(int(CATCH_UP.total_seconds() // 60)),
        "FIELDBRIDGE_JOBS_POLL_SECONDS": "0.5",
    }
    code = "from fieldbridge.cli import app; app()"
    with (tmp_path / "serve.log").open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--port", str(port)], env=env, stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("serve did not start in 90 s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


async def eventually(probe: Callable[[], Awaitable[T | None]], what: str, patience: float = 60.0) -> T:
    """Poll until `probe` answers (a wait on another process, not a timing check)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.2)
    pytest.fail(f"no {what} within {patience:.0f} s")


@pytest.mark.slow
async def test_a_serve_process_with_the_one_line_connects_schedules_delivers_and_hears_echo(
    echo_server: tuple[EchoServer, str], serve: str, db: Database, settings: Settings
) -> None:
    server, url = echo_server
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    async with httpx.AsyncClient(base_url=serve, timeout=30) as fieldbridge_api:
        started = await fieldbridge_api.post("/api/v1/connections", json=connect_body(url), headers=auth)
        assert started.status_code == 201, started.text
        async with httpx.AsyncClient() as browser:
            location = (await browser.get(started.json()["authorize_url"])).headers["location"]
        assert location.startswith(f"{serve}/settings/integrations/echo/callback")
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        done = await fieldbridge_api.get("/api/v1/connections/echo/callback", params=query, headers=auth)
        assert done.status_code == 200, done.text
        picked = await fieldbridge_api.post(
            f"/api/v1/connections/{done.json()['id']}/company",
            json={"account_ids": ["acct_7Hq2"]},
            headers=auth,
        )
        assert picked.status_code == 200, picked.text
    connection_id = int(picked.json()[0]["id"])
    secret = server.subscribe(f"{serve}/api/v1/webhooks/echo/{connection_id}", "acct_7Hq2")
    async with db.transaction() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None
        row.config = {**row.config, "webhook_secret": secret}

    zone = zone_past_17_00()
    await projects_in_zones(db, tenant.company.id, (zone,))  # the job sees it on its next tick

    async def delivered() -> Delivery | None:
        async with db.sessionmaker() as session:
            return await session.scalar(
                select(Delivery).where(
                    Delivery.kind == "echo.note.create", Delivery.status == Status.delivered
                )
            )

    note_row = await eventually(delivered, "delivered daily note")
    (note,) = server.notes.values()
    assert (note_row.remote_id, note_row.remote_version) == (note["id"], note["updated_at"])
    assert note["account_id"] == "acct_7Hq2"
    assert note["title"].startswith(f"Job in {zone}: daily note for ")

    async with httpx.AsyncClient(timeout=30) as echo_side:
        (answer,) = await server.send_webhooks(echo_side)
    assert answer.json() == {"status": "accepted"}

    async def processed() -> InboundEvent | None:
        async with db.sessionmaker() as session:
            event = await session.scalar(
                select(InboundEvent).where(InboundEvent.connection_id == connection_id)
            )
            return event if event is not None and event.state != InboundState.received else None

    event = await eventually(processed, "processed inbound event")
    assert (event.state, event.remote_id) == (InboundState.ignored_echo, note["id"])
