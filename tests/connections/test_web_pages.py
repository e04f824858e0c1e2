"""The Procore admin pages over plain HTTP (the browser test covers the happy path)."""

import re

from sqlalchemy import update

from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


async def test_pages_banner_people_milestones_and_disconnect(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, (project,) = await procore_env.track(tenant, 1)
    client = procore_env.client
    csrf = await sign_in_browser(client, tenant.admin.email)
    base = f"/settings/integrations/procore/{connection_id}"

    integrations = await client.get("/settings/integrations")
    assert "Summit Ridge Builders" in integrations.text
    assert "Connected" in integrations.text

    people = await client.get(f"{base}/people")
    assert people.status_code == 200
    person = re.search(r'name="person_id" value="(\d+)"', people.text)
    assert person is not None
    made = await client.post(
        f"{base}/people", data={"csrf_token": csrf, "action": "create", "person_id": person.group(1)}
    )
    assert made.status_code == 303

    milestones = await client.get(f"{base}/milestones")
    assert milestones.status_code == 200
    assert project["name"] in milestones.text
    first = re.search(rf'action="{base}/milestones/(\d+)"', milestones.text)
    assert first is not None
    hidden = await client.post(
        f"{base}/milestones/{first.group(1)}", data={"csrf_token": csrf, "hidden": "1"}
    )
    assert hidden.status_code == 303
    assert "Hidden and archived" in (await client.get(f"{base}/milestones")).text
    category = re.search(rf'action="{base}/categories/(\d+)"', milestones.text)
    assert category is not None
    chosen = await client.post(
        f"{base}/categories/{category.group(1)}", data={"csrf_token": csrf, "labor": "no"}
    )
    assert chosen.status_code == 303

    projects = await client.get(f"{base}/projects", params={"view": "excluded"})
    assert "not permitted for this app" in projects.text

    async with db.transaction() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(status="needs_reconnect", status_reason="Procore no longer accepts the refresh token.")
        )
    page = await client.get(base)
    assert 'id="reconnect-banner"' in page.text
    assert "no longer accepts" in page.text
    again = await client.post(f"{base}/reconnect", data={"csrf_token": csrf})
    assert 'id="continue-to-procore"' in again.text

    forged = await client.post(f"{base}/disconnect", data={"csrf_token": "wrong"})
    assert forged.status_code == 403
    gone = await client.post(f"{base}/disconnect", data={"csrf_token": csrf})
    assert gone.status_code == 303
    assert "Disconnected" in (await client.get(gone.headers["location"])).text
