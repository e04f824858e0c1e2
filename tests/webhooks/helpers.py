"""A controllable receiver (a real HTTP server on loopback) and steps shared by the webhook tests."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.runner import DrainReport, drain
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.browser import serve_in_thread
from tests.factories import Tenant, bearer

FAST = DeliveryConfig(lease_seconds=30, drain_seconds=20)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each request with the next scripted (status, headers, body); 200 when the script
    is empty. Keeps every request it got."""

    base: str = ""
    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, *responses: tuple[int, dict[str, str], str]) -> None:
        with self.lock:
            self.script.extend(responses)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append(Received({k.lower(): v for k, v in request.headers.items()}, body))
            status, headers, text = self.script.pop(0) if self.script else (200, {}, "ok")
        return Response(text, status_code=status, headers=headers)

    @property
    def url(self) -> str:
        return self.base + "/hooks/fieldbridge?tenant=1"


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    with serve_in_thread(app) as base:
        receiver.base = base
        yield receiver


async def create_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, url: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, **fields}, headers=bearer(tenant.api_key)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def drain_endpoint(db: Database, settings: Settings, connection_id: int) -> DrainReport:
    return await drain(db, connection_id, settings=settings, config=FAST)
