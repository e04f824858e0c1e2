"""The /_sandbox control API: reset, apps, records, request counts, person edits, persistence."""

from __future__ import annotations

from pathlib import Path

import httpx

from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_REDIRECT_URIS
from fieldbridge_sandbox.state import SandboxState

from .conftest import BASE, Demo, make_app, service_token, user_headers


async def test_apps_lists_credentials_and_installs(client: httpx.AsyncClient, demo: Demo) -> None:
    apps = (await client.get("/_sandbox/apps")).json()
    demo_app = next(a for a in apps if a["client_id"] == DEMO_CLIENT_ID)
    assert demo_app["client_secret"]
    assert set(DEMO_REDIRECT_URIS[:2]) <= set(demo_app["redirect_uris"])
    install = demo_app["installs"][0]
    assert install["company_id"] == demo.company_id
    assert demo.blocked_project_id not in install["permitted_project_ids"]


async def test_records_and_requests(client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]) -> None:
    await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
        json={"notes_log": {"comment": "a"}},
        headers=headers,
    )
    records = (await client.get("/_sandbox/records/notes_logs")).json()
    assert records[0]["comment"] == "a"
    assert records[0]["project_id"] == demo.project_id
    projects = (await client.get("/_sandbox/records/projects")).json()
    assert len(projects) == 12
    assert all("origin_id" in p for p in projects)
    assert (await client.get("/_sandbox/records/nonsense")).status_code == 404
    counts = (await client.get("/_sandbox/requests")).json()["requests"]
    assert {
        "method": "POST",
        "path": "/rest/v1.0/projects/{project_id}/notes_logs",
        "status": 201,
        "outcome": "answered",
        "count": 1,
    } in counts


async def test_reset_restores_the_seed(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    before = state.store.snapshot()["tables"]["projects"]
    await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/notes_logs",
        json={"notes_log": {"comment": "a"}},
        headers=headers,
    )
    r = await client.post("/_sandbox/reset", json={"seed": "demo"})
    assert r.json() == {"seed": "demo"}
    assert (await client.get("/_sandbox/records/notes_logs")).json() == []
    assert state.store.snapshot()["tables"]["projects"] == before
    assert (await client.get("/rest/v1.0/me", headers=headers)).status_code == 401
    assert (await client.post("/_sandbox/reset", json={"seed": "huge"})).status_code == 400


async def test_person_edits_change_permissions(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    url = f"/rest/v1.0/projects/{demo.project_id}/timecard_entries"
    await client.post(
        f"/_sandbox/projects/{demo.project_id}", json={"app_permitted": False, "client_id": DEMO_CLIENT_ID}
    )
    assert (await client.get(url, headers=headers)).status_code == 403
    await client.post(f"/_sandbox/projects/{demo.project_id}", json={"app_permitted": True})
    assert (await client.get(url, headers=headers)).status_code == 200
    maria = await user_headers(client, demo, "maria")
    assert (await client.get(url, headers=maria)).status_code == 200
    await client.post(f"/_sandbox/users/{demo.users['maria']['id']}", json={"timecards": "none"})
    assert (await client.get(url, headers=maria)).status_code == 403
    await client.post(f"/_sandbox/projects/{demo.project_id}", json={"tools_disabled": ["timecards"]})
    disabled = await client.get(url, headers=headers)
    assert disabled.status_code == 403
    assert disabled.json()["reason"] == "tool_disabled"
    code = next(c for c in state.store["cost_codes"].by(demo.project_id) if c["parent_id"])
    renamed = await client.post(f"/_sandbox/cost_codes/{code['id']}", json={"name": "New name"})
    assert renamed.json()["name"] == "New name"
    shown = await client.get(
        f"/rest/v1.0/cost_codes/{code['id']}", params={"project_id": demo.project_id}, headers=headers
    )
    assert shown.json()["name"] == "New name"


async def test_persistence_survives_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "sandbox.json")
    first = make_app(persist_path=path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE) as client:
        token = await service_token(client)
        company = next(iter(first.state.sandbox.store["companies"]))["id"]
        project = next(p["id"] for p in first.state.sandbox.store["projects"] if p["active"])
        r = await client.post(
            f"/rest/v1.0/projects/{project}/notes_logs",
            json={"notes_log": {"comment": "kept"}},
            headers={"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company)},
        )
        assert r.status_code == 201
    second = make_app(persist_path=path)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE) as client:
        notes = (await client.get("/_sandbox/records/notes_logs")).json()
        assert [n["comment"] for n in notes] == ["kept"]
        me = await client.get(
            "/rest/v1.0/me", headers={"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company)}
        )
        assert me.status_code == 200


async def test_random_changes_and_dropped_webhooks(client: httpx.AsyncClient, demo: Demo) -> None:
    """Random person edits say what changed and whether its webhook went (a dropped one, listed
    as discarded, is in tests/sites/test_reconcile.py); bad input is a 400 naming the field."""
    bad = await client.post("/_sandbox/changes", json={"company_id": demo.company_id, "kinds": ["tasks"]})
    assert bad.status_code == 400
    assert "kinds" in bad.text
    assert (await client.put("/_sandbox/webhooks/drop", json={"rate": 2})).status_code == 400
    assert (await client.put("/_sandbox/webhooks/drop", json={"rate": 1.0, "seed": 1})).json()["rate"] == 1.0
    made = await client.post(
        "/_sandbox/changes",
        json={
            "company_id": demo.company_id,
            "count": 3,
            "kinds": ["cost_codes"],
            "seed": 5,
            "project_ids": [demo.project_id],
        },
    )
    assert made.status_code == 200
    changes = made.json()
    assert len(changes) == 3
    assert {c["project_id"] for c in changes} == {demo.project_id}
    codes = {c["id"]: c for c in (await client.get("/_sandbox/records/cost_codes")).json()}
    assert all(codes[c["id"]]["name"] == c["value"] for c in changes)
    # No hook is registered in this sandbox, so nothing matched and nothing was dropped.
    assert {c["webhook"] for c in changes} == {"sent"}
