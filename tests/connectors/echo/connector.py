"""The `echo` connector: Echo Notes (`provider.py`) plugged into every seam of the platform
from this folder alone. The one line outside it that registers it is the setting
FIELDBRIDGE_CONNECTOR_MODULES=tests.connectors.echo.connector (the tests set it in
`conftest.py`); importing this module also registers its local-time job (`jobs.py`).

- connect: `FLOW`, the shared OAuth lifecycle with Echo's endpoints and account picker;
- open_client: a bearer client fed by the shared `TokenManager` (refresh, rotation);
- delivery: `NoteCreate` serves `echo.note.create`; `map_error` maps `EchoError`s;
- rate limits: `RATE_LIMIT` names Echo's own headers;
- inbound: `verify` checks `Echo-Signature` and reads note events; `register_inbound` adds
  the handler for ("echo", "notes") (`inbound.py`).
"""

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from fieldbridge.connections import oauth
from fieldbridge.connections.connector import (
    Account,
    Capability,
    Channel,
    ConnectFlow,
    ConnectorError,
    ConnectorSpec,
    Delivered,
    DeliveryItem,
    EnvironmentOption,
    InboundSpec,
    NotAuthentic,
    Outbound,
    ParsedEvent,
    Result,
)
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import DeliveryFailure, ParkConnection, Rejected, Transient
from fieldbridge.connections.tokens import BearerAuth, TokenManager
from fieldbridge.inbound.handlers import InboundHandlers
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.errors import BadRequest
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.ratelimit import RateLimitPolicy, Window
from tests.connections import acme_oauth
from tests.connectors.echo import inbound
from tests.connectors.echo import jobs as _jobs  # noqa: F401  (registers echo.daily_note)

PROVIDER = "echo"
NAME = "Echo Notes"
NOTE_CREATE = "echo.note.create"
SIGNATURE_TOLERANCE_SECONDS = 300

RATE_LIMIT = RateLimitPolicy(
    "echo-quota-limit",
    "echo-quota-remaining",
    "echo-reset-at",
    (Window("quota", 600),),
    reset_is_epoch=True,
)


# Errors: Echo's own, mapped once onto delivery's taxonomy.


class EchoError(ConnectorError):
    """Echo answered with an error."""


class EchoRateLimited(EchoError):
    def __init__(self, message: str, *, retry_after: float | None, status: int = 429) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class EchoUnavailable(EchoError):
    """A 5xx: Echo is having trouble; try later."""


class EchoRefused(EchoError):
    """A 4xx a person has to act on."""


def map_error(exc: BaseException) -> DeliveryFailure | None:
    if isinstance(exc, oauth.ReconnectRequired):
        return ParkConnection(exc.message, status=exc.status)
    if isinstance(exc, EchoRateLimited):
        return Transient(exc.message, retry_after=exc.retry_after, status=exc.status)
    if isinstance(exc, EchoUnavailable):
        return Transient(exc.message, status=exc.status)
    if isinstance(exc, EchoRefused):
        return Rejected(exc.message, status=exc.status)
    if isinstance(exc, EchoError):
        return Transient(exc.message, status=exc.status)
    return None


def raise_for(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    text = response.text[:200]
    if status == 429:
        raise EchoRateLimited(
            "Echo's quota is spent; sending again after its Retry-After.",
            retry_after=RATE_LIMIT.retry_after(response.headers),
        )
    if status >= 500:
        raise EchoUnavailable(f"Echo is unavailable (HTTP {status}); trying again later.", status=status)
    raise EchoRefused(f"Echo refused the note (HTTP {status}): {text}", status=status)


# Connecting: Echo's OAuth endpoints and account picker, as data.


def base_url(config: Mapping[str, Any]) -> str:
    return str(config["offline_url"]).rstrip("/")


def endpoints(config: Mapping[str, Any]) -> oauth.OAuthProvider:
    base = base_url(config)
    return oauth.OAuthProvider(
        name=NAME,
        authorize_url=f"{base}/authorize",
        token_url=f"{base}/token",
        revoke_url=f"{base}/revoke",
        scopes=acme_oauth.SCOPES,
        client_auth_method="client_secret_basic",
        emulator=True,
        refresh_margin_seconds=60,
    )


async def list_accounts(
    http: HttpClients, config: Mapping[str, Any], access_token: str, hint: str | None
) -> list[Account]:
    try:
        async with http.client(base_url=base_url(config), emulator=True) as client:
            response = await client.get("/v1/accounts", headers={"Authorization": f"Bearer {access_token}"})
    except httpx.TransportError as exc:
        raise oauth.Unavailable("Echo Notes cannot be reached.") from exc
    if response.status_code != 200:
        raise oauth.ProviderError("Echo Notes refused the account list.", status=response.status_code)
    return [Account(id=str(a["id"]), name=str(a["name"])) for a in response.json()]


FLOW = ConnectFlow(
    oauth=endpoints,
    list_accounts=list_accounts,
    environments=(EnvironmentOption("local", "Echo on this machine", emulator=True),),
    account_noun="Echo account",
    api_base=base_url,
)


# The client: a bearer token from the shared token manager, refreshed once on a 401.


def token_manager(out: Outbound, connection_id: int) -> TokenManager:
    return TokenManager(
        out.db,
        out.http,
        SecretBox(out.settings.secret),
        connection_id,
        lambda connection: endpoints(connection.config),
        name=NAME,
    )


@asynccontextmanager
async def open_client(out: Outbound, connection: Connection) -> AsyncIterator[httpx.AsyncClient]:
    auth = BearerAuth(token_manager(out, connection.id))
    async with out.http.client(base_url=base_url(connection.config), emulator=True, auth=auth) as client:
        if connection.external_account_id is not None:
            client.headers["Echo-Account"] = connection.external_account_id
        yield client


# Delivery: one kind.


class NoteCreate:
    kind = NOTE_CREATE
    batch_size = 1

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        (item,) = items
        body = {**item.payload, "external_ref": f"fieldbridge:{item.id}"}
        response = await channel.send("POST", "/v1/notes", for_ids=[item.id], json=body)
        raise_for(response)
        note = response.json()
        return {item.id: Delivered(remote_id=str(note["id"]), remote_record=note)}


# Inbound: signed note events.


def _signature_ok(header: str, body: bytes, secret: str) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or abs(utcnow().timestamp() - int(stamp)) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def verify(headers: Mapping[str, str], body: bytes, connection: Connection) -> Sequence[ParsedEvent]:
    """`Echo-Signature` over the exact body with the subscription's secret (kept in the
    connection's config as `webhook_secret`), at most five minutes old."""
    secret = str(connection.config.get("webhook_secret") or "")
    if not secret or not _signature_ok(headers.get("echo-signature", ""), body, secret):
        raise NotAuthentic("bad or stale Echo-Signature")
    try:
        event = json.loads(body)
        return [
            ParsedEvent(
                dedupe_key=str(event["id"]),
                resource=str(event["resource"]),
                event_type=str(event.get("type", "note.updated")),
                remote_id=str(event["record_id"]) if event.get("record_id") is not None else None,
                remote_project_id=str(event["project_id"]) if event.get("project_id") is not None else None,
                remote_version=event.get("updated_at"),
                payload=event,
            )
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest("The body is not an Echo event: it needs id, resource and record_id.") from exc


def spec() -> ConnectorSpec:
    return ConnectorSpec(
        provider=PROVIDER,
        display_name=NAME,
        summary="A test platform: notes out, note events in.",
        connect_url="/settings/integrations/echo",
        capabilities=frozenset({Capability.daily_log}),
        open_client=open_client,
        handlers=(NoteCreate(),),
        map_error=map_error,
        rate_limit=RATE_LIMIT,
        connect=FLOW,
        inbound=InboundSpec(verify=verify),
    )


def register_inbound(handlers: InboundHandlers) -> None:
    handlers.register((PROVIDER, "notes"), inbound.note_changed)
