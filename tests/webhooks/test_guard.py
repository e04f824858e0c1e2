"""SSRF: webhook URLs reach public addresses only, checked when saved and again at send time
after DNS resolution (so a name rebinding to 127.0.0.1 is refused); an explicit setting
allows private receivers for self-hosting, and the errors name it."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from fieldbridge.app import create_app
from fieldbridge.connections.outcomes import Rejected
from fieldbridge.connectors.webhooks.connector import endpoint_client, map_error
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.kit.netguard import EgressRefused, GuardedTransport, check_url
from fieldbridge.settings import Settings
from fieldbridge.webhooks import service
from fieldbridge.webhooks.events import EVENTS
from fieldbridge.webhooks.signing import EndpointSecrets, SigningSecret, new_secret
from tests.factories import bearer, create_tenant
from tests.webhooks.helpers import Receiver, create_endpoint, drain_endpoint

PUBLIC = "93.184.215.14"


@pytest.fixture
def strict(settings: Settings) -> Settings:
    return settings.model_copy(update={"webhooks_allow_private": False})


@pytest.fixture
async def strict_client(strict: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app(strict)
    await app.state.db.dispose()
    app.state.db = db
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        ("https://127.0.0.1/hook", "refused_destination", "loopback address"),
        ("https://localhost/hook", "refused_destination", "loopback address"),
        ("https://10.0.0.7/hook", "refused_destination", "private address"),
        ("https://169.254.169.254/latest/meta-data", "refused_destination", "link-local address"),
        ("https://[::ffff:192.168.1.1]/hook", "refused_destination", "private address"),
        (f"http://{PUBLIC}/hook", "bad_url", "https://"),
        (f"https://user:pw@{PUBLIC}/hook", "bad_url", "custom header"),
        ("ftp://example.com/hook", "bad_url", "https://"),
    ],
)
async def test_unsafe_urls_are_refused_when_saved(
    strict_client: httpx.AsyncClient, db: Database, strict: Settings, url: str, code: str, words: str
) -> None:
    tenant = await create_tenant(db, strict)
    response = await strict_client.post(
        "/api/v1/webhooks/endpoints", json={"url": url}, headers=bearer(tenant.api_key)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert words in error["message"]
    if code == "refused_destination":
        assert "FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE" in error["message"]


async def test_the_setting_allows_private_receivers_but_never_metadata(
    client: httpx.AsyncClient, db: Database, settings: Settings, receiver: Receiver
) -> None:
    tenant = await create_tenant(db, settings)
    await create_endpoint(client, tenant, receiver.url)  # loopback, plain http: allowed here
    refused = await client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": "http://169.254.169.254/latest/meta-data"},
        headers=bearer(tenant.api_key),
    )
    assert refused.status_code == 422
    assert "link-local address" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": f"https://{PUBLIC}/h", "event_types": ["shift.opened"]}, "event_types"),
        ({"url": f"https://{PUBLIC}/h", "headers": {"webhook-signature": "v1,x"}}, "headers"),
        ({"url": f"https://{PUBLIC}/h", "headers": {"X-Token": "a\r\nInjected: 1"}}, "headers"),
        ({"url": f"https://{PUBLIC}/h", "format": "xml"}, "format"),
    ],
)
async def test_bad_endpoint_fields_are_a_422_naming_the_field(
    strict_client: httpx.AsyncClient, db: Database, strict: Settings, body: dict[str, object], field: str
) -> None:
    tenant = await create_tenant(db, strict)
    response = await strict_client.post(
        "/api/v1/webhooks/endpoints", json=body, headers=bearer(tenant.api_key)
    )
    assert response.status_code == 422
    assert field in str(response.json()["error"]["details"])


async def test_a_private_receiver_is_refused_at_send_time_when_the_setting_is_off(
    client: httpx.AsyncClient, db: Database, settings: Settings, strict: Settings, receiver: Receiver
) -> None:
    tenant = await create_tenant(db, settings)
    created = await create_endpoint(client, tenant, receiver.url)  # saved while allowed
    async with db.transaction() as session:
        await service.emit(session, tenant.company.id, "shift.closed", EVENTS["shift.closed"].example)
    report = await drain_endpoint(db, strict, created["endpoint"]["connection_id"])  # now a strict server
    assert report.outcomes == {"rejected": 1}
    assert receiver.received == []
    async with db.sessionmaker() as session:
        row = (await session.scalars(select(Delivery))).one()
    assert "127.0.0.1 is a loopback address" in (row.reason or "")
    assert "FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true" in (row.reason or "")


async def test_dns_rebinding_to_a_private_address_is_refused_at_connect_time(receiver: Receiver) -> None:
    """The name resolves to a public address for the early check and to loopback a moment
    later; the connect-time check resolves again, refuses, and nothing reaches the receiver."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])

    async def rebinding(host: str, _port: int) -> list[str]:
        return next(answers)

    port = receiver.base.rsplit(":", 1)[1]
    url = f"http://rebind.test:{port}/hooks"
    await check_url(url, resolver=rebinding)  # passes: the first answer is public
    secrets = EndpointSecrets((SigningSecret(new_secret()),))
    transport = GuardedTransport(resolver=rebinding)
    async with endpoint_client(url, secrets, allow_private=False, transport=transport) as client:
        with pytest.raises(EgressRefused) as info:
            await client.post("", content=b"{}", headers={"webhook-id": "msg_1"})
    assert receiver.received == []
    failure = map_error(info.value)
    assert isinstance(failure, Rejected)
    assert "rebind.test is a loopback address" in failure.reason
    assert "FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE" in failure.reason


async def test_changing_the_url_is_checked_like_a_new_one(
    strict_client: httpx.AsyncClient, db: Database, strict: Settings
) -> None:
    tenant = await create_tenant(db, strict)
    made = await strict_client.post(
        "/api/v1/webhooks/endpoints", json={"url": f"https://{PUBLIC}/hook"}, headers=bearer(tenant.api_key)
    )
    assert made.status_code == 201, made.text
    endpoint_id = made.json()["endpoint"]["id"]
    moved = await strict_client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint_id}",
        json={"url": "https://192.168.0.10/hook"},
        headers=bearer(tenant.api_key),
    )
    assert moved.status_code == 422
    assert "private address" in moved.json()["error"]["message"]
    kept = await strict_client.get(
        f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=bearer(tenant.api_key)
    )
    assert kept.json()["url"] == f"https://{PUBLIC}/hook"
