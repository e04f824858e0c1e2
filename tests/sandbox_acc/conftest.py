"""The ACC sandbox served by uvicorn on a real port, a webhook receiver on another, and an
OAuth helper that goes through the consent page with PKCE like a browser would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldbridge_sandbox_acc import AccConfig, create_app
from fieldbridge_sandbox_acc.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URIS
from tests.browser import serve_in_thread

REDIRECT = DEMO_REDIRECT_URIS[0]
SCOPES = "data:read data:write account:read"
ISSUES = "/construction/issues/v1/projects"


@dataclass
class Receiver:
    """Records every webhook POST (headers + raw body); answers `status`."""

    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.calls.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


@pytest.fixture(scope="module")
def receiver_url() -> Iterator[tuple[str, Receiver]]:
    receiver = Receiver()
    with serve_in_thread(receiver.app()) as base:
        yield f"{base}/hook", receiver


@pytest.fixture(scope="module")
def acc_url() -> Iterator[str]:
    config = AccConfig(webhook_backoff_base_seconds=0.05, webhook_discard_after_seconds=2.0)
    with serve_in_thread(create_app(config)) as base:
        yield base


@pytest.fixture
async def acc(acc_url: str, receiver_url: tuple[str, Receiver]) -> AsyncIterator[httpx.AsyncClient]:
    """A client on the sandbox, reset to the demo seed with no faults and no webhook calls."""
    receiver_url[1].calls.clear()
    receiver_url[1].status = 200
    async with httpx.AsyncClient(base_url=acc_url, timeout=10) as client:
        await client.post("/_sandbox/reset", json={"seed": "demo"})
        await client.put("/_sandbox/faults", json=_no_faults())
        yield client
        # every response of the test matched Issues.yaml (a mismatch is a sandbox bug)
        assert (await client.get("/_sandbox/spec_violations")).json() == []


def _no_faults() -> dict[str, Any]:
    return {
        "error_rate": 0.0,
        "error_next": 0,
        "timeout_next": 0,
        "timeout_rate": 0.0,
        "drop_next": 0,
        "drop_rate": 0.0,
        "throttle_next": 0,
        "throttle_rate": 0.0,
        "throttle_for_seconds": 0.0,
        "latency": {"min_ms": 0, "max_ms": 0},
    }


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def form_fields(html: str) -> dict[str, str]:
    return {
        unescape(m.group(1)): unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }


async def authorize(
    client: httpx.AsyncClient,
    *,
    user_email: str = "avery@northwind.example",
    scope: str = SCOPES,
    challenge: str | None = None,
    decision: str = "approve",
) -> httpx.Response:
    """Open the consent page, pick the user, press Allow (or Deny); the redirect response."""
    params = {
        "client_id": DEMO_CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "st-1",
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = await client.get("/authentication/v2/authorize", params=params)
    if page.status_code == 302:
        return page  # refused before the consent page: the error rides on the redirect
    assert page.status_code == 200, page.text
    users = (await client.get("/_sandbox/ids")).json()["users"]
    user_id = next(u["id"] for u in users if u["email"] == user_email)
    fields = form_fields(page.text) | {"user_id": user_id, "decision": decision}
    return await client.post("/_sandbox/oauth/consent", data=fields)


def basic() -> dict[str, str]:
    raw = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def exchange(client: httpx.AsyncClient, code: str, verifier: str | None) -> httpx.Response:
    """POST the authorization code (and its PKCE verifier) to the token endpoint."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        data["code_verifier"] = verifier
    return await client.post("/authentication/v2/token", data=data, headers=basic())


async def token_pair(
    client: httpx.AsyncClient, user_email: str = "avery@northwind.example"
) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    redirect = await authorize(client, user_email=user_email, challenge=challenge)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    r = await exchange(client, code, verifier)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@dataclass
class Seed:
    ids: dict[str, Any]

    def project(self, name: str) -> dict[str, Any]:
        return next(p for p in self.ids["projects"] if p["name"] == name)

    def user(self, email: str) -> dict[str, Any]:
        return next(u for u in self.ids["users"] if u["email"] == email)


@pytest.fixture
async def seed(acc: httpx.AsyncClient) -> Seed:
    return Seed((await acc.get("/_sandbox/ids")).json())


@pytest.fixture
async def admin(acc: httpx.AsyncClient) -> dict[str, str]:
    """Bearer headers of Avery (project admin of the Northwind projects)."""
    tokens = await token_pair(acc)
    return {"Authorization": f"Bearer {tokens['access_token']}"}
