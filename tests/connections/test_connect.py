"""Connecting Procore through the API: failures end in clear messages; service accounts;
disconnect revokes the tokens."""

from typing import Any

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.factories import bearer, create_tenant
from tests.procore_fixtures import SANDBOX_URL, ProcoreEnv

START = "/api/v1/connections/procore"
CALLBACK = "/api/v1/connections/procore/callback"


def connect_body(**extra: Any) -> dict[str, Any]:
    return {
        "environment": "offline_sandbox",
        "offline_url": SANDBOX_URL,
        "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET,
        **extra,
    }


async def test_denied_consent_wrong_state_and_reused_code_are_explained(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    started = (await procore_env.client.post(START, json=connect_body(), headers=auth)).json()
    denied = await procore_env.authorize(started["authorize_url"], decision="deny")
    answer = await procore_env.client.get(CALLBACK, params=denied, headers=auth)
    assert answer.status_code == 400
    assert "declined" in answer.json()["error"]["message"]

    started = (await procore_env.client.post(START, json=connect_body(), headers=auth)).json()
    good = await procore_env.authorize(started["authorize_url"])
    forged = await procore_env.client.get(CALLBACK, params={**good, "state": "not-ours"}, headers=auth)
    assert forged.status_code == 400
    assert forged.json()["error"]["code"] == "oauth_state_mismatch"
    done = await procore_env.client.get(CALLBACK, params=good, headers=auth)
    assert done.status_code == 200, done.text
    assert [c["name"] for c in done.json()["company_choices"]] == ["Summit Ridge Builders"]
    again = await procore_env.client.get(CALLBACK, params=good, headers=auth)  # state already used
    assert again.status_code == 400


async def test_expired_code_and_wrong_secret_are_explained(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    started = (await procore_env.client.post(START, json=connect_body(), headers=auth)).json()
    answer = await procore_env.authorize(started["authorize_url"])
    await procore_env.sandbox.post("/_sandbox/clock", json={"advance_seconds": 601})
    expired = await procore_env.client.get(CALLBACK, params=answer, headers=auth)
    assert expired.status_code == 400
    assert "expired" in expired.json()["error"]["message"]

    started = (
        await procore_env.client.post(START, json=connect_body(client_secret="nope"), headers=auth)
    ).json()
    answer = await procore_env.authorize(started["authorize_url"])
    wrong = await procore_env.client.get(CALLBACK, params=answer, headers=auth)
    assert wrong.status_code == 400
    assert "client secret" in wrong.json()["error"]["message"]


async def test_procore_down_during_sign_in_is_explained(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    started = (await procore_env.client.post(START, json=connect_body(), headers=auth)).json()
    answer = await procore_env.authorize(started["authorize_url"])
    await procore_env.sandbox.put(
        "/_sandbox/faults", json={"error_next": 1, "path_prefixes": ["/oauth/token"]}
    )
    down = await procore_env.client.get(CALLBACK, params=answer, headers=auth)
    assert down.status_code == 400
    assert "try again" in down.json()["error"]["message"]


async def test_service_account_lists_companies_and_connects_without_a_browser(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    auth = bearer((await create_tenant(db, settings)).api_key)
    apps = (await procore_env.sandbox.get("/_sandbox/apps")).json()
    company = next(a for a in apps if a["client_id"] == DEMO_CLIENT_ID)["installs"][0]["company_id"]
    body = connect_body(mode="client_credentials", procore_company_id=company)
    started = await procore_env.client.post(START, json=body, headers=auth)
    assert started.status_code == 201, started.text
    assert started.json()["authorize_url"] is None
    assert [c["id"] for c in started.json()["company_choices"]] == [str(company)]
    chosen = await procore_env.client.post(
        f"/api/v1/connections/{started.json()['connection_id']}/company",
        json={"procore_company_ids": [company]},
        headers=auth,
    )
    assert chosen.json()[0]["status"] == "connected"
    run = await procore_env.client.post(f"/api/v1/connections/{chosen.json()[0]['id']}/sync", headers=auth)
    assert run.status_code == 202, run.text
    listed = await procore_env.client.get("/api/v1/projects", headers=auth)
    assert listed.json()["total"] == 12


async def test_disconnect_revokes_the_tokens(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id, _ = await procore_env.track(tenant, 1)  # registers webhooks too
    assert len((await procore_env.sandbox.get("/_sandbox/records/webhook_hooks")).json()) == 1
    gone = await procore_env.client.post(f"/api/v1/connections/{connection_id}/disconnect", headers=auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["warning"] is None
    assert gone.json()["connection"]["status"] == "disconnected"
    assert await procore_env.count("POST", "/oauth/revoke", 200) == 2
    assert (await procore_env.sandbox.get("/_sandbox/records/webhook_hooks")).json() == []
    listed = await procore_env.client.get("/api/v1/connections", headers=auth)
    assert [c["status"] for c in listed.json()] == ["disconnected"]
