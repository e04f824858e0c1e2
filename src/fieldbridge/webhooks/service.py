"""Rules of outbound webhooks: endpoints, emitting events, the message log's actions, and what
the delivery outcomes do to an endpoint. Functions take a session and never commit.

Emitting, from any domain module, in the transaction of the change it reports:

    await webhooks_service.emit(session, company_id, "incident.confirmed", {...})

writes one ledger row (`webhook.deliver`) per enabled endpoint subscribed to the type, with
the payload already shaped for that endpoint (format; workers' names only when internal).
The message id (`msg_...`) is the row's idempotency key and the `webhook-id` header: stable
across retries and resends, and the receiver's de-duplication key. Ordering is not promised.
"""

import functools
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Delivered, Result
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.outcomes import DeliveryFailure
from fieldbridge.delivery import service as delivery_service
from fieldbridge.delivery import states
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.errors import Conflict, NotFound, Unprocessable
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.netguard import EgressRefused, check_url
from fieldbridge.settings import Settings
from fieldbridge.webhooks.events import EVENTS, EventType, event_type
from fieldbridge.webhooks.models import EndpointFormat, WebhookEndpoint
from fieldbridge.webhooks.repository import KIND, WebhookRepository
from fieldbridge.webhooks.schemas import EndpointIn, EndpointOut, EndpointPatch, SecretOut
from fieldbridge.webhooks.signing import EndpointSecrets, SigningSecret, new_secret

log = get_logger("fieldbridge.webhooks")
PROVIDER = "webhook"
FAILING_DISABLES_AFTER = timedelta(days=5)
RECOVER_LIMIT = 5000
ALLOW_PRIVATE = "FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true"


# --- endpoints -------------------------------------------------------------------------------


async def check_destination(url: str, settings: Settings) -> None:
    """Refuse now a URL the connect-time guard would refuse later (a 422 naming the fix)."""
    parts = urlsplit(url)
    allow_private = settings.webhooks_allow_private
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise Unprocessable(
            "The URL must be https://host/path"
            + ("" if allow_private else f" (plain http only for private receivers, with {ALLOW_PRIVATE})")
            + ".",
            code="bad_url",
        )
    if parts.username or parts.password:
        raise Unprocessable(
            "Put credentials in a custom header (e.g. Authorization), not in the URL.", code="bad_url"
        )
    try:
        await check_url(url, allow_loopback=allow_private, allow_private=allow_private)
    except EgressRefused as exc:
        hint = (
            ""
            if allow_private
            else f" A self-hosted server can allow private receivers with {ALLOW_PRIVATE}."
        )
        raise Unprocessable(
            f"Refused: {exc.host} is a {exc.reason}; webhooks go to public addresses only.{hint}",
            code="refused_destination",
        ) from None
    except httpx.ConnectError:
        raise Unprocessable(
            f"{parts.hostname} does not resolve; check the URL.", code="unresolvable_host"
        ) from None


def _box(settings: Settings) -> SecretBox:
    return SecretBox(settings.secret)


def secrets_of(connection: Connection, settings: Settings) -> EndpointSecrets:
    return EndpointSecrets.from_json(_box(settings).open(connection.sealed_credentials or ""))


def _seal(connection: Connection, settings: Settings, secrets: EndpointSecrets) -> None:
    connection.sealed_credentials = _box(settings).seal(secrets.to_json())
    connection.credentials_version += 1


def _label(url: str, description: str) -> str:
    return (description or urlsplit(url).hostname or url)[:200]


def out(endpoint: WebhookEndpoint, connection: Connection, settings: Settings) -> EndpointOut:
    secrets = secrets_of(connection, settings)
    return EndpointOut(
        id=endpoint.id,
        connection_id=connection.id,
        url=str(connection.config.get("url", "")),
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        format=endpoint.format,
        internal=endpoint.internal,
        enabled=connection.status == ConnectionStatus.connected,
        status_reason=connection.status_reason,
        disabled_notice=endpoint.disabled_notice,
        failing_since=endpoint.failing_since,
        header_names=sorted(secrets.headers),
        secret_count=len(secrets.live()),
        created_at=endpoint.created_at,
    )


async def get(session: AsyncSession, company_id: int, endpoint_id: int) -> tuple[WebhookEndpoint, Connection]:
    found = await WebhookRepository.from_session(session).get(company_id, endpoint_id)
    if found is None:
        raise NotFound("No such webhook endpoint in this company.")
    return found


async def list_endpoints(
    session: AsyncSession, company_id: int
) -> Sequence[tuple[WebhookEndpoint, Connection]]:
    return await WebhookRepository.from_session(session).list(company_id)


async def create(
    session: AsyncSession, settings: Settings, company_id: int, body: EndpointIn
) -> tuple[WebhookEndpoint, Connection, str]:
    """A new endpoint and its connection; returns the signing secret (shown once)."""
    await check_destination(body.url, settings)
    secret = new_secret()
    connection = Connection(
        company_id=company_id,
        provider=PROVIDER,
        label=_label(body.url, body.description),
        status=ConnectionStatus.connected if body.enabled else ConnectionStatus.disconnected,
        status_reason=None if body.enabled else "Disabled by an admin.",
        config={"url": body.url},
        credentials_version=0,
    )
    _seal(connection, settings, EndpointSecrets((SigningSecret(secret),), dict(body.headers)))
    endpoint = WebhookEndpoint(
        company_id=company_id,
        description=body.description,
        event_types=list(body.event_types),
        format=body.format,
        internal=body.internal,
    )
    await WebhookRepository.from_session(session).add(connection, endpoint)
    log.info("webhooks.endpoint_created", endpoint_id=endpoint.id, company_id=company_id)
    return endpoint, connection, secret


async def update(
    session: AsyncSession, settings: Settings, company_id: int, endpoint_id: int, body: EndpointPatch
) -> tuple[WebhookEndpoint, Connection]:
    endpoint, connection = await get(session, company_id, endpoint_id)
    if body.url is not None:
        await check_destination(body.url, settings)
        connection.config = {**connection.config, "url": body.url}
    if body.description is not None:
        endpoint.description = body.description
    connection.label = _label(str(connection.config.get("url", "")), endpoint.description)
    if body.event_types is not None:
        endpoint.event_types = list(body.event_types)
    if body.format is not None:
        endpoint.format = body.format
    if body.internal is not None:
        endpoint.internal = body.internal
    if body.headers is not None:
        secrets = secrets_of(connection, settings)
        _seal(connection, settings, EndpointSecrets(secrets.secrets, dict(body.headers)))
    if body.enabled is True:
        enable(session, endpoint, connection)
    elif body.enabled is False:
        disable(endpoint, connection, "Disabled by an admin.", notice=False)
    return endpoint, connection


async def delete(session: AsyncSession, company_id: int, endpoint_id: int) -> None:
    """The endpoint, its connection and its message log go (the connection owns them)."""
    _endpoint, connection = await get(session, company_id, endpoint_id)
    await session.delete(connection)
    await session.flush()


async def rotate(
    session: AsyncSession, settings: Settings, company_id: int, endpoint_id: int, overlap_hours: float
) -> SecretOut:
    """A new secret; the old one keeps signing (both signatures sent) for `overlap_hours`."""
    _endpoint, connection = await get(session, company_id, endpoint_id)
    now = utcnow()
    rotated = secrets_of(connection, settings).rotated(timedelta(hours=overlap_hours), now)
    _seal(connection, settings, rotated)
    older = [s.valid_until for s in rotated.secrets[1:] if s.valid_until is not None]
    return SecretOut(secret=rotated.secrets[0].key, previous_valid_until=max(older) if older else None)


def enable(session: AsyncSession, endpoint: WebhookEndpoint, connection: Connection) -> None:
    connection.status = ConnectionStatus.connected
    connection.status_reason = None
    endpoint.failing_since = endpoint.disabled_at = None
    endpoint.disabled_notice = None
    delivery_service.wake_after_commit(session, [connection.id])  # parked messages resume


def disable(endpoint: WebhookEndpoint, connection: Connection, reason: str, *, notice: bool) -> None:
    """Stop sending (queued messages park; new events skip it). `notice`: FieldBridge decided,
    so admins see why on the Webhooks page until they re-enable it."""
    connection.status = ConnectionStatus.disconnected
    connection.status_reason = reason
    endpoint.disabled_at = utcnow()
    endpoint.disabled_notice = reason if notice else None
    if notice:
        log.warning(
            "webhooks.endpoint_disabled",
            endpoint_id=endpoint.id,
            company_id=endpoint.company_id,
            reason=reason,
        )


# --- events ----------------------------------------------------------------------------------


class _BaseUrl(BaseSettings):
    """FIELDBRIDGE_BASE_URL alone (the full Settings also demands a secret key)."""

    model_config = SettingsConfigDict(env_prefix="FIELDBRIDGE_", extra="ignore")
    base_url: str = Settings.model_fields["base_url"].default


@functools.cache
def _default_base_url() -> str:
    return _BaseUrl().base_url


def new_message_id() -> str:
    return "msg_" + uuid.uuid4().hex


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def envelope(
    event: EventType,
    data: Mapping[str, Any],
    *,
    message_id: str,
    at: datetime,
    fmt: str,
    base_url: str,
    test: bool = False,
) -> dict[str, Any]:
    """What one endpoint receives: the versioned event, or its `activity` form."""
    head: dict[str, Any] = {"id": message_id, "type": event.name, "version": event.version}
    head["timestamp"] = _iso(at)
    if test:
        head["test"] = True
    if fmt == EndpointFormat.activity:
        title, text, path = event.activity(data)
        return {**head, "title": title, "text": text, "link": base_url.rstrip("/") + path}
    return {**head, "data": dict(data)}


def _validated(event: EventType, data: Mapping[str, Any]) -> Any:
    try:
        return event.validate(data)
    except ValidationError as exc:
        raise Unprocessable(
            f"{event.name} data does not match its schema: {exc.errors()[0]['msg']}", code="bad_event"
        ) from None


async def wants(session: AsyncSession, company_id: int, type: str) -> bool:
    """Whether any enabled endpoint of the company takes `type` (skip building the event if not)."""
    return any(
        not e.event_types or type in e.event_types
        for e, _c in await WebhookRepository.from_session(session).enabled(company_id)
    )


async def emit(
    session: AsyncSession,
    company_id: int,
    type: str,
    data: Mapping[str, Any],
    *,
    base_url: str | None = None,
) -> list[Delivery]:
    """Queue `type` with `data` for every enabled endpoint of the company that takes it, in the
    caller's transaction. Returns the ledger rows (none when no endpoint takes it)."""
    try:
        event = event_type(type)
    except LookupError as exc:
        raise Unprocessable(str(exc), code="unknown_event") from None
    model = _validated(event, data)
    endpoints = [
        (e, c)
        for e, c in await WebhookRepository.from_session(session).enabled(company_id)
        if not e.event_types or type in e.event_types
    ]
    if not endpoints:
        return []
    message_id, at = new_message_id(), utcnow()
    rows = []
    for endpoint, connection in endpoints:
        payload = envelope(
            event,
            event.dump(model, internal=endpoint.internal),
            message_id=message_id,
            at=at,
            fmt=endpoint.format,
            base_url=base_url or _default_base_url(),
        )
        rows.append(await _enqueue(session, company_id, connection.id, message_id, payload))
    return rows


async def emit_many(
    session: AsyncSession,
    company_id: int,
    type: str,
    items: Sequence[Mapping[str, Any]],
    *,
    base_url: str | None = None,
) -> int:
    """`emit` for many events of one type (a detection batch): the endpoints are read once and
    every ledger row goes in with one flush. Returns how many rows were queued."""
    try:
        event = event_type(type)
    except LookupError as exc:
        raise Unprocessable(str(exc), code="unknown_event") from None
    endpoints = [
        (e, c)
        for e, c in await WebhookRepository.from_session(session).enabled(company_id)
        if not e.event_types or type in e.event_types
    ]
    if not endpoints or not items:
        return 0
    at, base = utcnow(), base_url or _default_base_url()
    rows = []
    for data in items:
        model, message_id = _validated(event, data), new_message_id()
        for endpoint, connection in endpoints:
            payload = envelope(
                event,
                event.dump(model, internal=endpoint.internal),
                message_id=message_id,
                at=at,
                fmt=endpoint.format,
                base_url=base,
            )
            rows.append(delivery_service.NewRow(connection.id, f"webhook:{message_id}", payload, message_id))
    return await delivery_service.enqueue_new(session, company_id=company_id, kind=KIND, rows=rows)


async def _enqueue(
    session: AsyncSession, company_id: int, connection_id: int, message_id: str, payload: dict[str, Any]
) -> Delivery:
    return await delivery_service.enqueue(
        session,
        company_id=company_id,
        connection_id=connection_id,
        kind=KIND,
        subject=f"webhook:{message_id}",  # its own subject: no message waits for another
        payload=payload,
        idempotency_key=message_id,
    )


async def send_test(
    session: AsyncSession, settings: Settings, company_id: int, endpoint_id: int, type: str | None
) -> Delivery:
    """The example of `type` (default: the endpoint's first type), marked `"test": true`."""
    endpoint, connection = await get(session, company_id, endpoint_id)
    if connection.status != ConnectionStatus.connected:
        raise Conflict("This endpoint is disabled; enable it to send a test event.", code="disabled")
    event = EVENTS[type or (endpoint.event_types or sorted(EVENTS))[0]]
    message_id = new_message_id()
    payload = envelope(
        event,
        event.dump(event.validate(event.example), internal=endpoint.internal),
        message_id=message_id,
        at=utcnow(),
        fmt=endpoint.format,
        base_url=settings.base_url,
        test=True,
    )
    return await _enqueue(session, company_id, connection.id, message_id, payload)


# --- the message log's actions ------------------------------------------------------------------


async def message(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    row = await WebhookRepository.from_session(session).message(company_id, delivery_id)
    if row is None:
        raise NotFound("No such webhook message in this company.")
    return row


async def resend(session: AsyncSession, company_id: int, delivery_id: int) -> Delivery:
    """Send a message again with the same webhook-id (the receiver de-duplicates on it)."""
    row = await message(session, company_id, delivery_id)
    if row.status in states.REPLAYABLE:
        return await delivery_service.replay(session, company_id, row.id)
    if row.status in states.RETRYABLE:
        return await delivery_service.retry(session, company_id, row.id)
    raise Conflict(f"This message is {row.status}: it is already on its way.", code="invalid_transition")


async def recover(session: AsyncSession, company_id: int, endpoint_id: int, since: datetime) -> int:
    """Send again every message to the endpoint that failed (or was refused) since `since`."""
    _endpoint, connection = await get(session, company_id, endpoint_id)
    rows = await WebhookRepository.from_session(session).failed_since(
        company_id, connection.id, since, RECOVER_LIMIT
    )
    for row in rows:
        await delivery_service.retry(session, company_id, row.id)
    return len(rows)


# --- outcomes (the connector's after_record hook) ------------------------------------------------


async def record_outcomes(
    session: AsyncSession, connection_id: int, outcomes: Sequence[tuple[Delivery, Result]]
) -> None:
    """A success clears the failure run; a 410 disables the endpoint at once; failing for
    FAILING_DISABLES_AFTER without a success disables it with a notice to admins."""
    found = await WebhookRepository.from_session(session).by_connection(connection_id)
    if found is None:
        return
    endpoint, connection = found
    now = utcnow()
    results = [result for _row, result in outcomes]
    if any(isinstance(r, Delivered) for r in results):
        endpoint.failing_since = None
        connection.last_success_at = now
        return
    failures = [r for r in results if isinstance(r, DeliveryFailure)]
    if not failures:
        return
    connection.last_error_at = now
    if connection.status != ConnectionStatus.connected:
        return
    if any(f.status == 410 for f in failures):
        disable(
            endpoint,
            connection,
            "Disabled: the receiver answered 410 Gone (it asked us to stop).",
            notice=True,
        )
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    elif now - endpoint.failing_since >= FAILING_DISABLES_AFTER:
        since = _iso(endpoint.failing_since)
        disable(
            endpoint,
            connection,
            f"Disabled: every attempt failed since {since} (5 days). Fix the receiver, then enable it "
            "and recover the failed messages.",
            notice=True,
        )
