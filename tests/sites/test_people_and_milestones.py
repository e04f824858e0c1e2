from typing import Any

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv
from tests.sites.test_staying_current import black_hole


async def _tree_milestones(env: ProcoreEnv, auth: dict[str, str]) -> list[dict[str, Any]]:
    tree = (await env.client.get("/api/v1/milestones/tree", headers=auth)).json()
    return [m for p in tree["projects"] for s in p["sub_jobs"] for m in s["milestones"]]


async def test_people_are_matched_overridden_and_turned_into_workers(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    workers = {}
    for body in (
        {"name": "A. Carter", "email": "alex.carter@summitridge.example"},
        {"name": "M. Gonzalez", "employee_id": "E1002"},
        {"name": "James Okafor"},
    ):
        created = await procore_env.client.post("/api/v1/workers", json=body, headers=auth)
        workers[body["name"]] = created.json()["id"]
    await procore_env.track(tenant, 1)
    people = (
        await procore_env.client.get("/api/v1/procore-people", params={"per_page": 200}, headers=auth)
    ).json()
    by_name = {p["name"]: p for p in people["items"]}
    assert (by_name["Alex Carter"]["worker_id"], by_name["Alex Carter"]["match_method"]) == (
        workers["A. Carter"],
        "email",
    )
    assert by_name["Maria Gonzalez"]["match_method"] == "employee_id"
    assert by_name["James Okafor"]["match_method"] == "name"

    # Manual override: unlink James; a later sync does not re-link him.
    unlinked = await procore_env.client.patch(
        f"/api/v1/procore-people/{by_name['James Okafor']['id']}", json={"worker_id": None}, headers=auth
    )
    assert unlinked.json()["worker_id"] is None
    unmatched = await procore_env.client.get(
        "/api/v1/procore-people", params={"unmatched": True}, headers=auth
    )
    assert "James Okafor" in {p["name"] for p in unmatched.json()["items"]}

    ids = [p["id"] for p in unmatched.json()["items"][:3]]
    made = await procore_env.client.post(
        "/api/v1/procore-people/create-workers", json={"person_ids": ids}, headers=auth
    )
    assert made.json()["created"] == 3
    listed = await procore_env.client.get("/api/v1/procore-people", params={"unmatched": True}, headers=auth)
    assert listed.json()["total"] == unmatched.json()["total"] - 3


async def test_milestones_can_be_hidden_renamed_and_categories_chosen(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    await procore_env.track(tenant, 1)
    first, second, *_ = await _tree_milestones(procore_env, auth)
    await procore_env.client.patch(f"/api/v1/milestones/{first['id']}", json={"hidden": True}, headers=auth)
    renamed = await procore_env.client.patch(
        f"/api/v1/milestones/{second['id']}", json={"display_name": "Forms (crew A)"}, headers=auth
    )
    assert renamed.json()["label"] == "Forms (crew A)"
    names = {m["id"]: m["name"] for m in await _tree_milestones(procore_env, auth)}
    assert first["id"] not in names
    assert names[second["id"]] == "Forms (crew A)"

    categories = (await procore_env.client.get("/api/v1/categories", headers=auth)).json()
    labor = next(c for c in categories if c["base_type"] == "labor")
    assert labor["labor"] is True
    assert not any(c["labor"] for c in categories if c["base_type"] != "labor")
    await procore_env.client.patch(f"/api/v1/categories/{labor['id']}", json={"labor": False}, headers=auth)
    assert await _tree_milestones(procore_env, auth) == []
    back = await procore_env.client.patch(
        f"/api/v1/categories/{labor['id']}", json={"labor": None}, headers=auth
    )
    assert back.json()["labor"] is True


async def test_a_project_lost_mid_sync_ends_with_a_clear_message(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    _, (project,) = await procore_env.track(tenant, 1)
    procore_env.webhook_sink.app = black_hole  # the webhook would exclude it before the re-sync
    await procore_env.sandbox.post(
        f"/_sandbox/projects/{project['external_id']}", json={"app_permitted": False}
    )
    await procore_env.sandbox.post("/_sandbox/webhooks/drain", json={"timeout": 5})
    resync = await procore_env.client.post(f"/api/v1/projects/{project['id']}/resync", headers=auth)
    assert resync.status_code == 200
    after = (await procore_env.client.get(f"/api/v1/projects/{project['id']}", headers=auth)).json()
    assert after["sync_state"] == "failed"
    assert "refused access" in after["sync_error"]
    assert after["excluded_reason"] == "not permitted for this app in Procore's App Management"
