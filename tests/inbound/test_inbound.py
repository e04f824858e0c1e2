"""Inbound events: one receiver per provider connection (verify, record once, answer 2xx),
dispatch by (provider, resource) to registered handlers, echo suppression from the ledger."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from fieldbridge import wiring
from fieldbridge.connections.connector import install_registry, installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.registry import build_registry, connector_modules
from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.recording import remote_version
from fieldbridge.delivery.states import Status
from fieldbridge.inbound.handlers import (
    Ignored,
    InboundContext,
    InboundHandlers,
    install_handlers,
    installed_handlers,
)
from fieldbridge.inbound.models import InboundEvent, InboundState
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.echo.provider import sign
from tests.factories import create_tenant

SECRET = "whsec_inbound_tests"

SEEN: list[tuple[str, str | None, str | None]] = []


async def thing_changed(ctx: InboundContext, event: InboundEvent) -> str | Ignored:
    SEEN.append((event.resource, event.remote_id, event.remote_version))
    if event.payload.get("nothing_to_do"):
        return Ignored("nothing to do")
    return f"thing {event.remote_id} applied"


@pytest.fixture
def echo_installed() -> Iterator[None]:
    """The shipped connectors plus the echo test connector (tests/connectors/echo), and one
    handler for its Things."""
    shipped, handlers = installed_registry(), installed_handlers()
    modules = connector_modules(["tests.connectors.echo.connector"])
    registry = build_registry(modules)
    with_echo = wiring.build_inbound_handlers(modules)
    with_echo.register(("echo", "Things"), thing_changed)
    install_registry(registry)
    install_handlers(with_echo)
    SEEN.clear()
    try:
        yield
    finally:
        install_registry(shipped)
        install_handlers(handlers)


@dataclass
class Echo:
    company_id: int
    connection_id: int
    url: str


@pytest.fixture
async def echo(db: Database, settings: Settings, echo_installed: None) -> Echo:
    tenant = await create_tenant(db, settings)
    async with db.transaction() as session:
        connection = Connection(
            company_id=tenant.company.id,
            provider="echo",
            label="Echo",
            status="connected",
            config={"webhook_secret": SECRET},
        )
        session.add(connection)
        await session.flush()
        connection_id = connection.id
    return Echo(tenant.company.id, connection_id, f"/api/v1/webhooks/echo/{connection_id}")


def _event(**fields: Any) -> dict[str, Any]:
    return {"id": "ev-1", "resource": "Things", "type": "update", "record_id": 41, "project_id": 7} | fields


async def _post(
    client: httpx.AsyncClient, url: str, event: dict[str, Any], secret: str | None = None
) -> httpx.Response:
    body = json.dumps(event).encode()
    return await client.post(url, content=body, headers={"echo-signature": sign(body, secret or SECRET)})


async def _events(db: Database, connection_id: int) -> list[InboundEvent]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(InboundEvent).where(InboundEvent.connection_id == connection_id).order_by(InboundEvent.id)
        )
        return list(rows)


async def test_the_same_event_twice_is_one_row_and_both_are_acknowledged(
    client: httpx.AsyncClient, db: Database, echo: Echo
) -> None:
    first = await _post(client, echo.url, _event())
    again = await _post(client, echo.url, _event(record_id=99))  # same id: a redelivery
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    (row,) = await _events(db, echo.connection_id)
    assert (row.provider, row.resource, row.remote_id, row.remote_project_id) == ("echo", "Things", "41", "7")
    assert row.company_id == echo.company_id
    assert SEEN == [("Things", "41", None)]  # dispatched once


async def test_a_bad_signature_and_an_unknown_destination_answer_alike(
    client: httpx.AsyncClient, db: Database, echo: Echo
) -> None:
    wrong = await _post(client, echo.url, _event(), secret="guess")
    unknown = await _post(client, f"/api/v1/webhooks/echo/{echo.connection_id + 1000}", _event())
    other_provider = await _post(client, f"/api/v1/webhooks/procore/{echo.connection_id}", _event())
    no_such_provider = await _post(client, f"/api/v1/webhooks/nobody/{echo.connection_id}", _event())
    answers = {(r.status_code, r.text) for r in (wrong, unknown, other_provider, no_such_provider)}
    assert len(answers) == 1, answers  # nothing tells a guesser which part was wrong
    ((status, text),) = answers
    assert status == 404
    assert json.loads(text)["error"]["code"] == "unknown_webhook_destination"
    assert await _events(db, echo.connection_id) == []
    assert SEEN == []


async def test_an_unreadable_body_is_a_400_that_says_so(client: httpx.AsyncClient, echo: Echo) -> None:
    body = b'{"resource": "Things"}'
    response = await client.post(echo.url, content=body, headers={"echo-signature": sign(body, SECRET)})
    assert response.status_code == 400
    assert "not an Echo event" in response.json()["error"]["message"]


async def test_events_go_to_the_handler_registered_for_provider_and_resource(
    client: httpx.AsyncClient, db: Database, echo: Echo
) -> None:
    await _post(client, echo.url, _event(id="a", updated_at="2026-12-01T10:00:00Z"))
    await _post(client, echo.url, _event(id="b", nothing_to_do=True))
    await _post(client, echo.url, _event(id="c", resource="Widgets"))
    applied, nothing, unknown = await _events(db, echo.connection_id)
    assert (applied.state, applied.outcome) == (InboundState.applied, "thing 41 applied")
    assert applied.remote_version == "2026-12-01T10:00:00Z"
    assert applied.processed_at is not None
    assert (nothing.state, nothing.outcome) == (InboundState.ignored, "nothing to do")
    assert unknown.state == InboundState.ignored
    assert unknown.outcome == "no handler for echo 'Widgets' events"
    assert [s[0] for s in SEEN] == ["Things", "Things"]  # the Widget reached no handler


async def _delivered(
    db: Database, echo: Echo, remote_id: int, version: str, status: str = Status.delivered
) -> int:
    """A ledger row that wrote remote record `remote_id`, which the remote side stamped `version`."""
    record = {"id": remote_id, "updated_at": version}
    async with db.transaction() as session:
        row = Delivery(
            company_id=echo.company_id,
            connection_id=echo.connection_id,
            kind="echo.thing.update",
            subject="thing:1",
            payload={},
            idempotency_key=f"k-{remote_id}-{version}",
            status=status,
            expires_at=utcnow(),
            remote_id=str(remote_id),
            remote_record=record,
            remote_version=remote_version(record),
        )
        session.add(row)
        await session.flush()
        return row.id


async def test_our_own_write_coming_back_is_not_applied_again(
    client: httpx.AsyncClient, db: Database, echo: Echo
) -> None:
    delivery_id = await _delivered(db, echo, 41, "2026-12-01T10:00:00Z")
    await _post(client, echo.url, _event(id="echo", updated_at="2026-12-01T10:00:00Z"))
    (row,) = await _events(db, echo.connection_id)
    assert row.state == InboundState.ignored_echo
    assert row.outcome == f"FieldBridge's own write (delivery {delivery_id})"
    assert SEEN == []


async def test_a_real_change_after_our_write_is_applied(
    client: httpx.AsyncClient, db: Database, echo: Echo
) -> None:
    await _delivered(db, echo, 41, "2026-12-01T10:00:00Z")
    await _delivered(db, echo, 42, "2026-12-01T11:00:00Z")  # another record at the later time
    await _delivered(db, echo, 41, "2026-12-01T11:00:00Z", status=Status.pending)  # not delivered
    await _post(client, echo.url, _event(id="later", updated_at="2026-12-01T11:00:00Z"))
    await _post(client, echo.url, _event(id="unversioned"))
    later, unversioned = await _events(db, echo.connection_id)
    assert (later.state, unversioned.state) == (InboundState.applied, InboundState.applied)
    assert SEEN == [("Things", "41", "2026-12-01T11:00:00Z"), ("Things", "41", None)]


def test_the_delivered_version_is_updated_at_else_version() -> None:
    assert (
        remote_version({"id": 1, "updated_at": "2026-12-01T10:00:00Z", "version": 3})
        == "2026-12-01T10:00:00Z"
    )
    assert remote_version({"id": 1, "version": 3}) == "3"
    assert remote_version({"id": 1}) is None
    assert remote_version(None) is None


def test_a_resource_has_one_handler() -> None:
    handlers = InboundHandlers()
    handlers.register(("echo", "Things"), thing_changed)
    with pytest.raises(ValueError, match="two handlers"):
        handlers.register(("echo", "Things"), thing_changed)
    assert handlers.handler("echo", "Widgets") is None


def test_the_project_sync_capability_is_listed_only_with_its_flow() -> None:
    from dataclasses import replace

    from fieldbridge.connections.connector import Capability, Registry
    from fieldbridge.connectors.procore import connector as procore

    shipped = procore.spec()
    assert Capability.project_sync in shipped.capabilities
    assert shipped.project_sync is not None
    claims = replace(shipped, project_sync=None)
    with pytest.raises(ValueError, match="project_sync capability"):
        Registry().register(claims)
    hides = replace(shipped, capabilities=frozenset({Capability.time_export}))
    with pytest.raises(ValueError, match="project_sync capability"):
        Registry().register(hides)
