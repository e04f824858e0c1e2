"""Fixtures: a demo sandbox in-process, tokens for the service account and for named users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from fieldbridge_sandbox import SandboxConfig, create_app
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from fieldbridge_sandbox.state import SandboxState

BASE = "http://sandbox.test"
REDIRECT = "http://127.0.0.1:8000/settings/integrations/procore/callback"


@dataclass
class Demo:
    """Handy ids of the demo seed."""

    company_id: int
    project_id: int  # active, permitted, hours mode
    start_stop_project_id: int
    blocked_project_id: int  # app not permitted
    inactive_project_id: int
    users: dict[str, dict[str, Any]]

    def person_ids(self, state: SandboxState, project_id: int) -> list[int]:
        return [p["id"] for p in state.store["people"].by(self.company_id) if project_id in p["_project_ids"]]


def demo_ids(state: SandboxState) -> Demo:
    store = state.store
    company = next(iter(store["companies"]))
    by_number = {p["project_number"]: p for p in store["projects"]}
    return Demo(
        company_id=company["id"],
        project_id=by_number["RMO-1001"]["id"],
        start_stop_project_id=by_number["WBT-1010"]["id"],
        blocked_project_id=by_number["SDC-1009"]["id"],
        inactive_project_id=by_number["OML-0901"]["id"],
        users={u["first_name"].lower(): u for u in store["users"]},
    )


def make_app(**config: Any) -> FastAPI:
    return create_app(SandboxConfig(**config))


@pytest.fixture
async def app() -> AsyncIterator[FastAPI]:
    application = make_app()
    yield application
    webhooks = application.state.sandbox.webhooks
    if webhooks is not None:
        await webhooks.aclose()


@pytest.fixture
def state(app: FastAPI) -> SandboxState:
    sandbox: SandboxState = app.state.sandbox
    return sandbox


@pytest.fixture
def demo(state: SandboxState) -> Demo:
    return demo_ids(state)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        yield c


async def service_token(client: httpx.AsyncClient) -> str:
    r = await client.post(
        "/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


async def authorize_code(
    client: httpx.AsyncClient, user_id: int, redirect_uri: str = REDIRECT, state: str = "xyz"
) -> str:
    r = await client.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
        },
    )
    assert r.status_code == 200, r.text
    assert f'value="{user_id}"' in r.text
    r = await client.post(
        "/_sandbox/oauth/consent",
        data={
            "client_id": DEMO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
            "user_id": str(user_id),
            "decision": "approve",
        },
    )
    assert r.status_code == 302, r.text
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


async def user_tokens(client: httpx.AsyncClient, user_id: int) -> dict[str, Any]:
    code = await authorize_code(client, user_id)
    r = await client.post(
        "/oauth/token",
        json={
            "grant_type": "authorization_code",
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "code": code,
            "redirect_uri": REDIRECT,
        },
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.fixture
async def headers(client: httpx.AsyncClient, demo: Demo) -> dict[str, str]:
    """Service-account (DMSA) headers for the demo company."""
    token = await service_token(client)
    return {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(demo.company_id)}


async def user_headers(client: httpx.AsyncClient, demo: Demo, first_name: str) -> dict[str, str]:
    tokens = await user_tokens(client, demo.users[first_name]["id"])
    return {"Authorization": f"Bearer {tokens['access_token']}", "Procore-Company-Id": str(demo.company_id)}
