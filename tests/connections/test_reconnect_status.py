"""What the connection pages say is true: a reconnect is checked before it says so, and a
needed reconnect shows on the pages support works from."""

from sqlalchemy import update

from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge_sandbox.seeds import DEMO_CLIENT_ID
from tests.connections.test_connect import START, connect_body
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


async def _service_account_connection(env: ProcoreEnv, auth: dict[str, str]) -> int:
    apps = (await env.sandbox.get("/_sandbox/apps")).json()
    company = next(a for a in apps if a["client_id"] == DEMO_CLIENT_ID)["installs"][0]["company_id"]
    started = await env.client.post(
        START, json=connect_body(mode="client_credentials", procore_company_id=company), headers=auth
    )
    chosen = await env.client.post(
        f"/api/v1/connections/{started.json()['connection_id']}/company",
        json={"procore_company_ids": [company]},
        headers=auth,
    )
    return int(chosen.json()[0]["id"])


async def test_a_service_account_reconnect_is_checked_before_it_says_reconnected(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await _service_account_connection(procore_env, bearer(tenant.api_key))
    async with db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(
                status="needs_reconnect",
                status_reason="Procore no longer accepts this token. Reconnect Procore.",
            )
        )
    csrf = await sign_in_browser(procore_env.client, tenant.admin.email)
    base = f"/settings/integrations/procore/{connection_id}"
    for page in ("/export-log", "/settings/integrations/reconnect-banner"):
        shown = (await procore_env.client.get(page)).text
        assert f'id="reconnect-banner-{connection_id}"' in shown, page
        assert "Reconnect Procore.." not in shown
    timesheets = (await procore_env.client.get("/timesheets")).text
    assert 'hx-get="/settings/integrations/reconnect-banner"' in timesheets

    # The service account lost its Procore access: a token alone does not make it work.
    users = (await procore_env.sandbox.get("/_sandbox/records/users")).json()
    service = next(u for u in users if u["name"] == "FieldBridge Service Account")
    await procore_env.sandbox.post(f"/_sandbox/users/{service['id']}", json={"is_active": False})
    failed = await procore_env.client.post(f"{base}/reconnect", data={"csrf_token": csrf})
    page = (await procore_env.client.get(failed.headers["location"])).text
    assert "Reconnected" not in page
    assert 'role="alert"' in page
    assert 'id="connection-status">Needs reconnect' in page

    await procore_env.sandbox.post(f"/_sandbox/users/{service['id']}", json={"is_active": True})
    done = await procore_env.client.post(f"{base}/reconnect", data={"csrf_token": csrf})
    page = (await procore_env.client.get(done.headers["location"])).text
    assert "Reconnected and checked: Procore lets FieldBridge into" in page
    assert 'id="connection-status">Connected' in page
    assert f'id="reconnect-banner-{connection_id}"' not in (await procore_env.client.get("/export-log")).text


async def test_rows_parked_for_a_reconnect_read_with_one_period(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    from fieldbridge.delivery.runner import drain
    from tests.delivery.helpers import enqueue, linked, shift

    link = await linked(procore_env)
    row = await enqueue(procore_env, link, shift(link.projects[0], link.people[0]), subject="s:parked")
    async with db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == link.connection_id)
            .values(
                status="needs_reconnect",
                status_reason="Procore no longer accepts this token. Reconnect Procore.",
            )
        )
    await drain(db, link.connection_id, http=procore_env.http, settings=procore_env.settings)
    detail = (
        await procore_env.client.get(f"/api/v1/deliveries/{row}", headers=bearer(link.tenant.api_key))
    ).json()
    assert detail["status"] == "parked"
    assert "Reconnect Procore. It resumes by itself" in detail["reason"]
    assert ".." not in detail["reason"]


async def test_the_connection_does_not_say_connected_while_procore_does_not_answer(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    from fieldbridge.delivery.runner import drain
    from tests.delivery.helpers import enqueue, linked, make_due, shift

    link = await linked(procore_env)
    base = f"/settings/integrations/procore/{link.connection_id}"
    await sign_in_browser(procore_env.client, link.tenant.admin.email)
    assert 'id="connection-status">Connected' in (await procore_env.client.get(base)).text
    await procore_env.sandbox.put("/_sandbox/faults", json={"error_rate": 1.0, "path_prefixes": ["/rest/"]})
    for n in range(2):
        await enqueue(procore_env, link, shift(link.projects[0], link.people[n]), subject=f"s:down{n}")
    await drain(db, link.connection_id, http=procore_env.http, settings=procore_env.settings)
    page = (await procore_env.client.get(base)).text
    assert 'id="connection-status">Procore not answering' in page
    assert "2 deliveries are retrying by themselves; nothing is lost." in page
    cards = (await procore_env.client.get("/settings/integrations")).text
    assert "Procore not answering" in cards, "the Integrations card agrees with the connection page"

    await procore_env.sandbox.put("/_sandbox/faults", json={"error_rate": 0})
    await make_due(procore_env)
    await drain(db, link.connection_id, http=procore_env.http, settings=procore_env.settings)
    page = (await procore_env.client.get(base)).text
    assert 'id="connection-status">Connected' in page
    assert 'id="outage-banner"' not in page
    assert "Procore not answering" not in (await procore_env.client.get("/settings/integrations")).text
