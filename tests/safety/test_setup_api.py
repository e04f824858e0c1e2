"""Safety setup over the API against the Procore sandbox: link a site to a synced project
(tools checked through the connector, with plain reasons), the field mapping (values fetched
and cached, edits validated, a value that disappears upstream flagged before any delivery),
and the setup checklist moving to done."""

from datetime import timedelta
from typing import Any

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.safety import link_service, mapping, tasks
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv


def _steps(body: dict[str, Any]) -> dict[str, bool]:
    return {s["key"]: s["done"] for s in body["steps"]}


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_link_map_and_checklist(procore_env: ProcoreEnv, db: Database, settings: Settings) -> None:
    env, tenant = procore_env, await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    api = env.client

    setup = await _ok(await api.get("/api/v1/safety/setup", headers=auth))
    assert setup["done"] == 0
    connection_id, projects = await env.track(tenant, 2)
    site = await _ok(
        await api.post(
            "/api/v1/safety/sites", json={"project_id": projects[0]["id"], "name": "Tower"}, headers=auth
        ),
        201,
    )
    assert _steps(await _ok(await api.get("/api/v1/safety/setup", headers=auth)))["connect"] is True

    choices = await _ok(await api.get("/api/v1/safety/link-choices", headers=auth))
    assert [c["connection_id"] for c in choices] == [connection_id]
    assert {p["project_id"] for p in choices[0]["projects"]} >= {p["id"] for p in projects}

    # The second project's Daily Log tool is off in Procore: the link is made and says so.
    other = projects[1]
    await env.sandbox.post(
        f"/_sandbox/projects/{other['external_id']}", json={"tools_disabled": ["daily_log"]}
    )
    links = f"/api/v1/safety/sites/{site['id']}/links"
    link = await _ok(
        await api.post(
            links,
            json={"connection_id": connection_id, "project_id": other["id"], "observation_threshold": 4},
            headers=auth,
        ),
        201,
    )
    assert link["tools"] == {"incidents": None, "observations": None, "daily_log": "tool not enabled"}
    assert link["remote_project_id"] == other["external_id"]
    assert (link["observation_threshold"], link["summary_time"], link["fold_window_s"]) == (
        4,
        "17:00:00",
        900,
    )
    assert "Daily Log: tool not enabled." in link["problems"]
    assert _steps(await _ok(await api.get("/api/v1/safety/setup", headers=auth)))["tools"] is False

    # One link per connection; bad input is a 4xx that says what to fix.
    again = await api.post(
        links, json={"connection_id": connection_id, "project_id": other["id"]}, headers=auth
    )
    assert again.status_code == 409
    bad = await api.post(links, json={"connection_id": connection_id, "project_id": 999999}, headers=auth)
    assert bad.status_code == 422
    assert "project_id" in bad.json()["error"]["message"]
    wrong = await api.patch(f"{links}/{link['id']}", json={"observation_threshold": 9}, headers=auth)
    assert wrong.status_code == 422

    # Move the link to the first project (tools fine there); then the tools step is done.
    moved = await _ok(
        await api.patch(
            f"{links}/{link['id']}",
            json={"project_id": projects[0]["id"], "push_all": True, "summary_time": "16:30"},
            headers=auth,
        )
    )
    assert moved["tools"] == {"incidents": None, "observations": None, "daily_log": None}
    assert (moved["push_all"], moved["summary_time"], moved["problems"]) == (True, "16:30:00", [])
    steps = _steps(await _ok(await api.get("/api/v1/safety/setup", headers=auth)))
    assert (steps["map_sites"], steps["tools"], steps["thresholds"]) == (True, True, True)
    assert steps["mapping"] is False  # values not fetched yet

    # Field mapping: fetch, see defaults resolve, edit one, lose it upstream, see it flagged.
    base = f"/api/v1/connections/{connection_id}/safety-mapping"
    view = await _ok(await api.get(base, headers=auth))
    assert {c["name"] for c in view["categories"]} == {"hazard", "observation_type", "priority"}
    assert all(c["fetched_at"] is None for c in view["categories"])
    view = await _ok(await api.post(f"{base}/refresh", headers=auth))
    by = {c["name"]: c for c in view["categories"]}
    ppe = next(r for r in by["observation_type"]["rows"] if r["source_key"] == "ppe_violation")
    assert (ppe["origin"], ppe["remote_label"]) == ("default", "Safety Violation")
    five = next(r for r in by["priority"]["rows"] if r["source_key"] == "5")
    assert five["remote_value"] == "Urgent"
    electrical = next(v for v in by["hazard"]["values"] if v["label"] == "Electrical")
    edit = {"entries": [{"category": "hazard", "source_key": "proximity", "remote_value": electrical["id"]}]}
    view = await _ok(await api.patch(base, json=edit, headers=auth))
    assert _steps(await _ok(await api.get("/api/v1/safety/setup", headers=auth)))["mapping"] is True
    refused = await api.patch(
        base,
        json={"entries": [{"category": "hazard", "source_key": "proximity", "remote_value": "1"}]},
        headers=auth,
    )
    assert refused.status_code == 422
    assert "entries[0].remote_value" in refused.json()["error"]["message"]

    await env.sandbox.post(f"/_sandbox/values/hazards/{electrical['id']}", json={"active": False})
    view = await _ok(await api.post(f"{base}/refresh", headers=auth))
    assert view["missing"] == 1
    row = next(
        r
        for c in view["categories"]
        if c["name"] == "hazard"
        for r in c["rows"]
        if r["source_key"] == "proximity"
    )
    assert (row["missing"], row["remote_label"]) == (True, "Electrical")
    async with db.transaction() as session:
        resolved = await mapping.resolve(session, connection_id, "hazard", "proximity")
    assert resolved == mapping.MappedValue(electrical["id"], "Electrical", True)
    assert _steps(await _ok(await api.get("/api/v1/safety/setup", headers=auth)))["mapping"] is False

    # Back to the default clears the flag; removing the link unmaps the site.
    reset = {"entries": [{"category": "hazard", "source_key": "proximity", "remote_value": None}]}
    assert (await _ok(await api.patch(base, json=reset, headers=auth)))["missing"] == 0
    await _ok(await api.delete(f"{links}/{link['id']}", headers=auth), 204)
    assert await _ok(await api.get(links, headers=auth)) == []


async def test_another_company_sees_none_of_it(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    env = procore_env
    owner, stranger = await create_tenant(db, settings), await create_tenant(db, settings, "Other")
    connection_id, projects = await env.track(owner, 1)
    site = (
        await env.client.post(
            "/api/v1/safety/sites",
            json={"project_id": projects[0]["id"], "name": "Tower"},
            headers=bearer(owner.api_key),
        )
    ).json()
    theirs = bearer(stranger.api_key)
    assert (
        await env.client.get(f"/api/v1/safety/sites/{site['id']}/links", headers=theirs)
    ).status_code == 404
    made = await env.client.post(
        f"/api/v1/safety/sites/{site['id']}/links",
        json={"connection_id": connection_id, "project_id": projects[0]["id"]},
        headers=theirs,
    )
    assert made.status_code == 404
    assert (
        await env.client.get(f"/api/v1/connections/{connection_id}/safety-mapping", headers=theirs)
    ).status_code == 404


async def test_the_periodic_refresh_fetches_values_checks_tools_and_flags_what_vanished(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    env, tenant = procore_env, await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id, projects = await env.track(tenant, 1)
    site = await _ok(
        await env.client.post(
            "/api/v1/safety/sites", json={"project_id": projects[0]["id"], "name": "Tower"}, headers=auth
        ),
        201,
    )
    links = f"/api/v1/safety/sites/{site['id']}/links"
    await _ok(
        await env.client.post(
            links, json={"connection_id": connection_id, "project_id": projects[0]["id"]}, headers=auth
        ),
        201,
    )
    platform = link_service.Platform(db, env.http, env.box)
    assert await tasks.refresh_due(platform) == 1  # never fetched: due
    assert await tasks.refresh_due(platform) == 0  # fresh now
    base = f"/api/v1/connections/{connection_id}/safety-mapping"
    view = await _ok(await env.client.get(base, headers=auth))
    types = next(c for c in view["categories"] if c["name"] == "observation_type")
    notice = next(v for v in types["values"] if v["label"] == "Safety Notice")
    edit = {"entries": [{"category": "observation_type", "source_key": "fall", "remote_value": notice["id"]}]}
    await _ok(await env.client.patch(base, json=edit, headers=auth))

    await env.sandbox.post(f"/_sandbox/values/observation_types/{notice['id']}", json={"active": False})
    await env.sandbox.post(
        f"/_sandbox/projects/{projects[0]['external_id']}", json={"tools_disabled": ["incidents"]}
    )
    assert await tasks.refresh_due(platform, every=timedelta(0)) == 1
    assert (await _ok(await env.client.get(base, headers=auth)))["missing"] == 1
    link = (await _ok(await env.client.get(links, headers=auth)))[0]
    assert link["tools"]["incidents"] == "tool not enabled"
