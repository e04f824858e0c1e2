"""`fieldbridge bench sync`: project sync against the sandbox's `large` seed.

In one process: a scratch SQLite database, the sandbox over `httpx.ASGITransport`, a
service-account connection to the first large company (167 projects, one with 2,000 cost
codes, 1,667 people). It turns 50 syncable projects on, runs the initial sync (project
discovery + every tracked project), then a re-sync with no changes, and prints one JSON line:

- `requests_total`: REST requests of the initial sync (OAuth token calls not included);
- `requests_minimum`: the fewest list pages that carry the same data at the maximum page size
  (`ceil(Total / max_per_page)`, at least 1, per list read; 1 per single-object read);
- `efficiency_ratio` = total / minimum (target <= 1.10);
- `seconds`: wall time of the initial sync;
- `resync_requests`: REST requests of the re-sync; `synced_pairs`: tracked projects x mirrored
  resources (target: resync_requests <= synced_pairs).
Webhook registration (22 calls, once per connection) is not part of either figure.
"""

import asyncio
import math
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import typer

from fieldbridge.accounts import service as accounts_service
from fieldbridge.bench import bench_app, emit
from fieldbridge.connectors.procore.offline import connect_offline_sandbox
from fieldbridge.connectors.procore.provider import PROCORE
from fieldbridge.connectors.procore.sync import STEPS
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.migrate import upgrade_async
from fieldbridge.settings import Environment as Env
from fieldbridge.settings import Settings
from fieldbridge.sites import service as sites_service
from fieldbridge.sites.repository import SitesRepository
from fieldbridge.sites.tasks import sync_connection

SANDBOX = "http://sandbox.bench"


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts REST requests and what the smallest number of pages for the same lists would be."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.total = 0
        self.lists: dict[str, int] = {}  # list URL without paging -> Total
        self.singles = 0

    def reset(self) -> None:
        self.total, self.lists, self.singles = 0, {}, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path.startswith("/rest/"):
            self.total += 1
            query = [
                (k, v) for k, v in parse_qsl(request.url.query.decode()) if k not in ("page", "per_page")
            ]
            key = f"{request.method} {request.url.path}?{urlencode(sorted(query))}"
            total = response.headers.get("Total")
            if total is not None:
                self.lists[key] = int(total)
            elif key not in self.lists:
                self.singles += 1
        return response

    @property
    def minimum(self) -> int:
        pages = sum(max(1, math.ceil(t / PROCORE.max_per_page)) for t in self.lists.values())
        return pages + self.singles


async def _run(projects: int) -> dict[str, Any]:
    from fieldbridge_sandbox import SandboxConfig
    from fieldbridge_sandbox import create_app as create_sandbox
    from fieldbridge_sandbox.config import RateLimits
    from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID

    sandbox = create_sandbox(
        SandboxConfig(seed="large", rate_limits=RateLimits(hourly=1_000_000, spike=100_000))
    )
    counting = CountingTransport(httpx.ASGITransport(app=sandbox))
    http = HttpClients(transport=counting)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await upgrade_async(url)
        settings = Settings(env=Env.test, database_url=url)
        db = Database(url)
        box = SecretBox(settings.secret)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=sandbox), base_url=SANDBOX
            ) as control:
                apps = (await control.get("/_sandbox/apps")).json()
            company_ext = next(a for a in apps if a["client_id"] == DEMO_CLIENT_ID)["installs"][0][
                "company_id"
            ]
            async with db.transaction() as session:
                company = await accounts_service.create_company(session, "Bench", "BENCH")
                connection = await connect_offline_sandbox(
                    session, settings, http, company.id, SANDBOX, company_ext
                )
            await sync_connection(db, http, box, connection.id, project_ids=[], paced=True)  # list projects
            async with db.transaction() as session:
                rows, _ = await SitesRepository.from_session(session).projects_page(
                    company.id, view="available", limit=projects
                )
                await sites_service.set_sync(session, company.id, [p.id for p in rows], True)
            counting.reset()
            started = time.perf_counter()
            first = await sync_connection(db, http, box, connection.id, full=True, paced=True)
            seconds = time.perf_counter() - started
            total, minimum = counting.total, counting.minimum
            counting.reset()
            again = await sync_connection(db, http, box, connection.id, paced=True)
            resync = counting.total
        finally:
            await db.dispose()
    return {
        "scenario": "sync",
        "seed": "large",
        "projects": first.projects_synced,
        "requests_total": total,
        "requests_minimum": minimum,
        "efficiency_ratio": round(total / max(1, minimum), 3),
        "seconds": round(seconds, 2),
        "resync_requests": resync,
        "resync_projects": again.projects_synced,
        "synced_pairs": first.projects_synced * len(STEPS),
        "failures": len(first.failures) + len(again.failures),
    }


@bench_app.command("sync")
def sync(projects: int = typer.Option(50, help="How many projects to turn on.")) -> None:
    """Initial sync of N projects of the large seed, then a re-sync with no changes."""
    emit(asyncio.run(_run(projects)))
