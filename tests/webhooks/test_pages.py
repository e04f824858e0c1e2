"""The admin pages around webhooks: the endpoint form's refusals, rotation, and webhook rows in
the export log next to Procore's."""

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant, sign_in_browser
from tests.webhooks.helpers import Receiver, drain_endpoint

HTML = {"accept": "text/html"}


async def test_admin_pages_create_rotate_and_show_messages_in_the_export_log(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant = await create_tenant(db, settings)
    csrf = await sign_in_browser(client, tenant.admin.email)
    bad = await client.post(
        "/settings/webhooks",
        data={"csrf_token": csrf, "url": "http://169.254.169.254/latest", "headers": ""},
        headers=HTML,
    )
    assert bad.status_code == 400
    assert "link-local address" in bad.text
    malformed = await client.post(
        "/settings/webhooks",
        data={"csrf_token": csrf, "url": receiver.url, "headers": "no colon"},
        headers=HTML,
    )
    assert malformed.status_code == 400
    assert "Name: value" in malformed.text
    made = await client.post(
        "/settings/webhooks",
        data={"csrf_token": csrf, "url": receiver.url, "description": "Chat", "event_types": "shift.closed"},
        headers=HTML,
    )
    assert made.status_code == 200
    assert 'id="secret">whsec_' in made.text
    endpoint_id = int(made.text.split('action="/settings/webhooks/')[1].split("/")[0].split('"')[0])
    rotated = await client.post(
        f"/settings/webhooks/{endpoint_id}/rotate",
        data={"csrf_token": csrf, "overlap_hours": "2"},
        headers=HTML,
    )
    assert "The old secret also signs until" in rotated.text
    assert ">2</dd>" in rotated.text
    sent = await client.post(
        f"/settings/webhooks/{endpoint_id}/test", data={"csrf_token": csrf}, headers=HTML
    )
    assert sent.status_code == 303
    listed = await client.get("/api/v1/webhooks/messages", headers={"X-CSRF-Token": csrf})
    message = listed.json()["items"][0]
    connection_id = (await client.get(f"/api/v1/webhooks/endpoints/{endpoint_id}")).json()["connection_id"]
    await drain_endpoint(db, settings, connection_id)
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2  # both during the overlap
    for path in (
        "/export-log",
        f"/export-log/{message['id']}",
        f"/settings/webhooks/messages/{message['id']}",
    ):
        page = await client.get(path, headers=HTML)
        assert page.status_code == 200, path
    off = await client.post(
        f"/settings/webhooks/{endpoint_id}", data={"csrf_token": csrf, "action": "disable"}, headers=HTML
    )
    assert off.status_code == 303
    page = await client.get(f"/settings/webhooks/{endpoint_id}", headers=HTML)
    assert 'id="state">disabled' in page.text
    refused = await client.post(
        f"/settings/webhooks/{endpoint_id}/test", data={"csrf_token": csrf}, headers=HTML
    )
    assert refused.status_code == 400
    assert "disabled" in refused.text
