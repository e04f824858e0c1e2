"""Webhooks really fire: v2 payloads, destination headers, retries with backoff, deliveries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fieldbridge_sandbox import SandboxConfig, create_app
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID

from .conftest import BASE, demo_ids, service_token


class Receiver:
    """An in-process webhook destination that fails the first `fail` deliveries."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: list[tuple[dict[str, Any], dict[str, str]]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((json.loads(request.content), dict(request.headers)))
        if self.fail > 0:
            self.fail -= 1
            return httpx.Response(500, text="nope")
        return httpx.Response(200, json={"ok": True})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def wh_app(receiver: Receiver) -> AsyncIterator[FastAPI]:
    app = create_app(
        SandboxConfig(
            webhook_transport=httpx.MockTransport(receiver.handler), webhook_backoff_base_seconds=0.01
        )
    )
    yield app
    await app.state.sandbox.webhooks.aclose()


@pytest.fixture
async def wh(wh_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], Any]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wh_app), base_url=BASE) as client:
        demo = demo_ids(wh_app.state.sandbox)
        token = await service_token(client)
        headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(demo.company_id)}
        yield client, headers, demo


async def _hook(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    company_id: int,
    resource: str,
    *events: str,
    **scope: int,
) -> int:
    where = scope or {"company_id": company_id}
    r = await client.post(
        "/rest/v1.0/webhooks/hooks",
        json={
            **where,
            "hook": {
                "api_version": "v2",
                "namespace": "fieldbridge",
                "destination_url": "https://fieldbridge.example/webhooks/procore",
                "destination_headers": {"Authorization": "Bearer secret-12345"},
            },
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["destination_headers"]["Authorization"] == "*****12345"
    for event in events:
        t = await client.post(
            f"/rest/v1.0/webhooks/hooks/{hook['id']}/triggers",
            json={**where, "api_version": "v2", "trigger": {"resource_name": resource, "event_type": event}},
            headers=headers,
        )
        assert t.status_code == 201, t.text
        assert t.json()["event_type"] == event.upper()
    hook_id: int = hook["id"]
    return hook_id


async def test_create_fires_v2_payload_with_destination_headers(
    wh: tuple[httpx.AsyncClient, dict[str, str], Any], receiver: Receiver
) -> None:
    client, headers, demo = wh
    hook_id = await _hook(client, headers, demo.company_id, "Notes Logs", "create")
    r = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
        json={"notes_log": {"comment": "hello"}},
        headers=headers,
    )
    assert (await client.post("/_sandbox/webhooks/drain")).json()["drained"]
    assert len(receiver.calls) == 1
    payload, sent_headers = receiver.calls[0]
    assert sent_headers["authorization"] == "Bearer secret-12345"
    assert sent_headers["content-type"] == "application/json"
    assert payload["api_version"] == "v2.0"
    assert payload["event_type"] == "create"
    assert payload["resource_name"] == "Notes Logs"
    assert payload["resource_id"] == r.json()["id"]
    assert payload["project_id"] == demo.project_id
    assert payload["company_id"] == demo.company_id
    assert len(payload["ulid"]) == 26
    assert set(payload["metadata"]) == {
        "source_user_id",
        "source_project_id",
        "source_operation_id",
        "source_company_id",
        "source_application_id",
    }
    apps = await client.get("/_sandbox/records/apps")
    demo_app = next(a for a in apps.json() if a["client_id"] == DEMO_CLIENT_ID)
    assert payload["metadata"]["source_application_id"] == str(demo_app["id"])  # a string, as documented
    deliveries = await client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
        params={"company_id": demo.company_id},
        headers=headers,
    )
    assert [d["outcome"] for d in deliveries.json()] == ["ok"]
    assert deliveries.json()[0]["response_status"] == 200


async def test_only_matching_triggers_fire(
    wh: tuple[httpx.AsyncClient, dict[str, str], Any], receiver: Receiver
) -> None:
    client, headers, demo = wh
    await _hook(client, headers, demo.company_id, "Incidents", "update")
    await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
        json={"notes_log": {"comment": "x"}},
        headers=headers,
    )
    created = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/incidents",
        json={"incident": {"title": "Slip"}},
        headers=headers,
    )
    await client.patch(
        f"/rest/v1.0/projects/{demo.project_id}/incidents/{created.json()['id']}",
        json={"incident": {"status": "closed"}},
        headers=headers,
    )
    await client.post("/_sandbox/webhooks/drain")
    assert [(c[0]["resource_name"], c[0]["event_type"]) for c in receiver.calls] == [("Incidents", "update")]


async def test_failures_retry_with_backoff_in_order(
    wh: tuple[httpx.AsyncClient, dict[str, str], Any], receiver: Receiver
) -> None:
    client, headers, demo = wh
    receiver.fail = 2
    hook_id = await _hook(
        client, headers, demo.company_id, "Notes Logs", "create", "delete", project_id=demo.project_id
    )
    note = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
        json={"notes_log": {"comment": "x"}},
        headers=headers,
    )
    await client.delete(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs/{note.json()['id']}", headers=headers
    )
    assert (await client.post("/_sandbox/webhooks/drain")).json()["drained"]
    assert [c[0]["event_type"] for c in receiver.calls] == ["create"] * 3 + ["delete"]
    deliveries = (
        await client.get(
            f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
            params={"project_id": demo.project_id},
            headers=headers,
        )
    ).json()
    assert [d["outcome"] for d in deliveries] == ["failed", "failed", "retried", "ok"]
    failing = await client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
        params={"project_id": demo.project_id, "filters[status]": "failing"},
        headers=headers,
    )
    assert len(failing.json()) == 2
    page = await client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/deliveries",
        params={"project_id": demo.project_id, "page_size": 2, "page_start": deliveries[1]["id"]},
        headers=headers,
    )
    assert [d["outcome"] for d in page.json()] == ["retried", "ok"]


async def test_discard_after_retry_window(receiver: Receiver) -> None:
    receiver.fail = 10**6
    app = create_app(
        SandboxConfig(
            webhook_transport=httpx.MockTransport(receiver.handler),
            webhook_backoff_base_seconds=0.01,
            webhook_discard_after_seconds=0.05,
        )
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            demo = demo_ids(app.state.sandbox)
            headers = {
                "Authorization": f"Bearer {await service_token(client)}",
                "Procore-Company-Id": str(demo.company_id),
            }
            await _hook(client, headers, demo.company_id, "Notes Logs", "create")
            await client.post(
                f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
                json={"notes_log": {"comment": "x"}},
                headers=headers,
            )
            assert (await client.post("/_sandbox/webhooks/drain")).json()["drained"]
            outcomes = [d["outcome"] for d in app.state.sandbox.store["webhook_deliveries"]]
            assert outcomes[-1] == "discarded"
            assert "failed" in outcomes
    finally:
        await app.state.sandbox.webhooks.aclose()


async def test_person_edits_fire_webhooks(
    wh: tuple[httpx.AsyncClient, dict[str, str], Any], receiver: Receiver
) -> None:
    client, headers, demo = wh
    await _hook(client, headers, demo.company_id, "Incidents", "update")
    await _hook(client, headers, demo.company_id, "Projects", "update")
    incident = (
        await client.post(
            f"/rest/v1.0/projects/{demo.project_id}/incidents",
            json={"incident": {"title": "Fall"}},
            headers=headers,
        )
    ).json()
    page = await client.get(f"/_sandbox/edit/incidents/{incident['id']}")
    assert page.status_code == 200
    assert "Fall" in page.text
    saved = await client.post(
        f"/_sandbox/edit/incidents/{incident['id']}",
        data={"title": "Fall from ladder", "description": "", "status": "closed"},
    )
    assert saved.status_code == 303
    await client.post(f"/_sandbox/projects/{demo.project_id}", json={"active": False})
    await client.post("/_sandbox/webhooks/drain")
    events = [(c[0]["resource_name"], c[0]["metadata"]["source_application_id"]) for c in receiver.calls]
    assert events == [("Incidents", None), ("Projects", None)]
    shown = await client.get(
        f"/rest/v1.0/projects/{demo.project_id}/incidents/{incident['id']}", headers=headers
    )
    assert shown.json()["title"] == "Fall from ladder"
    assert shown.json()["status"] == "closed"


async def test_hook_crud(wh: tuple[httpx.AsyncClient, dict[str, str], Any]) -> None:
    client, headers, demo = wh
    hook_id = await _hook(client, headers, demo.company_id, "Timecard Entries", "create")
    scope = {"company_id": demo.company_id}
    listed = await client.get("/rest/v1.0/webhooks/hooks", params=scope, headers=headers)
    assert [h["id"] for h in listed.json()] == [hook_id]
    patched = await client.patch(
        f"/rest/v1.0/webhooks/hooks/{hook_id}",
        json={**scope, "hook": {"destination_url": "https://elsewhere.example/h"}},
        headers=headers,
    )
    assert patched.json()["destination_url"] == "https://elsewhere.example/h"
    triggers = await client.get(
        f"/rest/v1.0/webhooks/hooks/{hook_id}/triggers", params=scope, headers=headers
    )
    trigger_id = triggers.json()[0]["id"]
    assert (
        await client.delete(
            f"/rest/v1.0/webhooks/hooks/{hook_id}/triggers/{trigger_id}", params=scope, headers=headers
        )
    ).status_code == 200
    assert (
        await client.delete(f"/rest/v1.0/webhooks/hooks/{hook_id}", params=scope, headers=headers)
    ).status_code == 200
    assert (await client.get("/rest/v1.0/webhooks/hooks", params=scope, headers=headers)).json() == []
    resources = await client.get("/rest/v1.0/webhooks/resources", params=scope, headers=headers)
    assert "Timecard Entries" in {r["tools"] for r in resources.json()}


async def test_a_destination_that_never_answers_fails_at_the_webhook_timeout() -> None:
    """Procore gives a destination 5 s; an in-process destination (httpx's ASGITransport ignores
    timeouts) that hangs used to stall its hook's queue for good."""

    async def hung(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.Event().wait()

    app = create_app(
        SandboxConfig(
            webhook_transport=httpx.ASGITransport(app=hung),
            webhook_timeout_seconds=0.2,
            webhook_backoff_base_seconds=3600,  # one attempt is all this test looks at
        )
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            demo = demo_ids(app.state.sandbox)
            token = await service_token(client)
            headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(demo.company_id)}
            await _hook(client, headers, demo.company_id, "Notes Logs", "create")
            made = await client.post(
                f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
                json={"notes_log": {"comment": "hello"}},
                headers=headers,
            )
            assert made.status_code == 201
            records: list[dict[str, Any]] = []
            for _ in range(200):  # a bound for a loaded machine, not a timing target
                records = (await client.get("/_sandbox/records/webhook_deliveries")).json()
                if records:
                    break
                await asyncio.sleep(0.05)
    finally:
        await app.state.sandbox.webhooks.aclose()
    assert [(r["outcome"], r["response_status"]) for r in records] == [("failed", None)]
    assert "TimeoutError" in records[0]["response_error"]
