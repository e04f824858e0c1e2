from typing import Any

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv


async def _projects(client: httpx.AsyncClient, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/projects", params={"per_page": 200, **params}, headers=auth)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_first_sync_mirrors_projects_with_exclusions_and_builds_the_tree(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id = await procore_env.connect(tenant)
    run = await procore_env.client.post(f"/api/v1/connections/{connection_id}/sync", headers=auth)
    assert run.status_code == 202, run.text
    projects = await _projects(procore_env.client, auth)
    assert len(projects) == 12
    excluded = {p["name"]: p["excluded_reason"] for p in projects if p["excluded_reason"]}
    assert excluded == {
        "Old Mill Lofts": "inactive in Procore",
        "Cedar Point Clinic": "inactive in Procore",
        "Summit Data Center": "not permitted for this app in Procore's App Management",
    }
    available = [p for p in projects if not p["excluded_reason"]]
    chosen = [p["id"] for p in available[:3]]
    body = {"project_ids": [*chosen, projects[0]["id"]], "enabled": True}
    toggled = await procore_env.client.post("/api/v1/projects/sync", json=body, headers=auth)
    assert toggled.status_code == 200, toggled.text
    tracked = await _projects(procore_env.client, auth, view="tracked")
    assert {p["sync_state"] for p in tracked} == {"synced"}
    assert all(set(p["sync_progress"]["steps"].values()) == {"done"} for p in tracked)
    tree = (await procore_env.client.get("/api/v1/milestones/tree", headers=auth)).json()
    assert len(tree["projects"]) == len(tracked)
    milestones = [m for p in tree["projects"] for s in p["sub_jobs"] for m in s["milestones"]]
    assert milestones
    assert all(m["key"].startswith("procore:budget_line:cc:") for m in milestones)
    assert all(m["name"].endswith("· Labor") for m in milestones)
