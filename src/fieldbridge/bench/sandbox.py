"""`fieldbridge bench sandbox`: authenticated, paginated GETs per second against the sandbox.

Drives the real ASGI app (middleware, auth, rate-limit accounting, routing, serialization)
in-process with raw ASGI calls on one event loop, so the figure is the sandbox's own cost on
one core, without an HTTP client's overhead mixed in (see docs/sandbox.md, "Benchmark").
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import typer
from starlette.types import Message

from fieldbridge.bench import bench_app, emit


async def _run(requests: int, per_page: int) -> dict[str, Any]:
    from fieldbridge_sandbox import SandboxConfig, create_app
    from fieldbridge_sandbox.config import RateLimits
    from fieldbridge_sandbox.oauth import issue

    big = 10**9
    app = create_app(SandboxConfig(seed="demo", rate_limits=RateLimits(hourly=big, spike=big)))
    state = app.state.sandbox
    store = state.store
    demo_app = next(a for a in store["apps"] if a["service_user_id"])
    token = issue(state, demo_app, demo_app["service_user_id"], "client_credentials")
    company = next(iter(store["companies"]))
    projects = [p for p in store["projects"].by(company["id"]) if p["active"]]
    project = projects[0]
    headers = [
        (b"authorization", f"Bearer {token['access_token']}".encode()),
        (b"procore-company-id", str(company["id"]).encode()),
        (b"host", b"sandbox.test"),
    ]
    targets = [
        ("/rest/v1.0/projects", f"company_id={company['id']}&page=1&per_page={per_page}"),
        ("/rest/v1.0/cost_codes", f"project_id={project['id']}&page=1&per_page={per_page}"),
    ]
    statuses: dict[int, int] = {}

    async def call(path: str, query: str) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 5000),
            "server": ("sandbox.test", 80),
        }

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(scope, receive, send)

    for i in range(200):  # warm-up: caches, first-call imports
        await call(*targets[i % 2])
    statuses.clear()
    start = time.perf_counter()
    for i in range(requests):
        await call(*targets[i % 2])
    elapsed = time.perf_counter() - start
    return {
        "scenario": "sandbox",
        "gets_per_s": round(requests / elapsed, 1),
        "requests": requests,
        "per_page": per_page,
        "seconds": round(elapsed, 3),
        "statuses": {str(k): v for k, v in statuses.items()},
        "mode": "in-process raw ASGI, one event loop (one core)",
    }


@bench_app.command("sandbox")
def sandbox(
    requests: int = typer.Option(5000, help="Number of GETs to time."),
    per_page: int = typer.Option(25, help="Page size of each list call."),
) -> None:
    """Authenticated paginated GETs per second through the sandbox ASGI app on one core."""
    emit(asyncio.run(_run(requests, per_page)))
