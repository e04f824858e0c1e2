"""Outbound webhooks as a connector: one connection per endpoint (provider "webhook"), one ledger
kind (`webhook.deliver`), Standard Webhooks signatures, a Svix-like retry schedule.

The handler holds no tenant state: it serializes the row's payload and sends it with its
`webhook-id` (the message id, stable across retries). The connection's client, opened per
drain from the connection row, knows the endpoint: `EndpointAuth` sends the request to the
endpoint's URL with its custom headers, and signs the exact bytes going out with every live
secret. Every client connects through `kit.netguard` (public addresses only, checked after
DNS resolution at connect time; FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE for self-hosting).
"""

import email.utils
import functools
from collections.abc import AsyncIterator, Generator, Hashable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import (
    Capability,
    Channel,
    ConnectorSpec,
    Delivered,
    DeliveryItem,
    Outbound,
    Result,
)
from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import DeliveryFailure, Rejected, Transient
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.http import USER_AGENT
from fieldbridge.kit.netguard import EgressRefused, GuardedTransport
from fieldbridge.webhooks import service
from fieldbridge.webhooks.signing import EndpointSecrets, body_bytes, signed_headers

KIND = "webhook.deliver"
TIMEOUT = httpx.Timeout(15.0)
# Waits after the 1st, 2nd, ... failed attempt (the first attempt goes out at once), as Svix
# does: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; eight attempts in all, plus jitter.
RETRY_SCHEDULE: tuple[float, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
ALLOW_PRIVATE_HINT = (
    "Webhook receivers must be on public addresses; a self-hosted server can allow private "
    "ones with FIELDBRIDGE_WEBHOOKS_ALLOW_PRIVATE=true."
)


class EndpointAuth(httpx.Auth):
    """Sends each request to the endpoint with its headers and Standard Webhooks signatures
    over the exact body bytes (one signature per live secret during a rotation's overlap)."""

    requires_request_body = True

    def __init__(self, url: str, secrets: EndpointSecrets) -> None:
        self.url = url
        self.secrets = secrets

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        body = request.content
        message_id = request.headers["webhook-id"]
        keys = [s.key for s in self.secrets.live()]
        headers = {
            **self.secrets.headers,
            "user-agent": USER_AGENT,
            "content-type": "application/json",
            **signed_headers(message_id, body, keys),
        }
        yield httpx.Request(
            request.method, self.url, headers=headers, content=body, extensions=request.extensions
        )


def endpoint_client(
    url: str,
    secrets: EndpointSecrets,
    *,
    allow_private: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: httpx.Timeout = TIMEOUT,
) -> httpx.AsyncClient:
    """A client for one endpoint: guarded at connect time, 15 s timeout, no redirects."""
    return httpx.AsyncClient(
        transport=transport or GuardedTransport(allow_loopback=allow_private, allow_private=allow_private),
        timeout=timeout,
        auth=EndpointAuth(url, secrets),
        follow_redirects=False,
    )


@asynccontextmanager
async def open_client(
    out: Outbound, connection: Connection, client_timeout: httpx.Timeout = TIMEOUT
) -> AsyncIterator[httpx.AsyncClient]:
    """Webhook URLs are typed by users: they never use an injected transport (that stands in
    for a known platform), always the address guard."""
    box = SecretBox(out.settings.secret)
    secrets = EndpointSecrets.from_json(box.open(connection.sealed_credentials or ""))
    url = str(connection.config.get("url", ""))
    allow_private = out.settings.webhooks_allow_private
    async with endpoint_client(url, secrets, allow_private=allow_private, timeout=client_timeout) as client:
        yield client


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or utcnow())).total_seconds())


def classify_response(response: httpx.Response) -> Result:
    code = response.status_code
    if 200 <= code < 300:
        return Delivered(remote_id=None)
    excerpt = response.text[:200].strip()
    said = f": {excerpt}" if excerpt else ""
    if code == 410:
        return Rejected(
            "The receiver answered 410 Gone (asked FieldBridge to stop sending); the endpoint is disabled.",
            status=code,
        )
    if code == 429:
        wait = retry_after_seconds(response.headers.get("retry-after"))
        return Transient(f"The receiver answered 429 Too Many Requests{said}", retry_after=wait, status=code)
    return Transient(f"The receiver answered {code}{said}", status=code)


class WebhookDeliver:
    kind = KIND
    batch_size = 1

    def __init__(self, retry_schedule: tuple[float, ...] = RETRY_SCHEDULE) -> None:
        self.retry_schedule = retry_schedule

    def batch_key(self, item: DeliveryItem) -> Hashable:
        return item.id

    async def deliver(self, channel: Channel, items: Sequence[DeliveryItem]) -> dict[int, Result]:
        (item,) = items
        response = await channel.send(
            "POST",
            "",
            for_ids=[item.id],
            content=body_bytes(item.payload),
            headers={"webhook-id": item.idempotency_key},
        )
        return {item.id: classify_response(response)}

    async def after_record(
        self, session: AsyncSession, connection_id: int, outcomes: Sequence[tuple[Delivery, Result]]
    ) -> None:
        await service.record_outcomes(session, connection_id, outcomes)


def map_error(exc: BaseException) -> DeliveryFailure | None:
    if isinstance(exc, EgressRefused):
        return Rejected(f"Refused to connect: {exc.host} is a {exc.reason}. {ALLOW_PRIVATE_HINT}")
    return None


def spec(
    timeout_seconds: float = TIMEOUT.read or 15.0, retry_schedule: tuple[float, ...] = RETRY_SCHEDULE
) -> ConnectorSpec:
    """The shipped connector; the benchmark scales the timeout and the schedule down."""
    timeout = httpx.Timeout(timeout_seconds)
    return ConnectorSpec(
        provider="webhook",
        display_name="Webhooks",
        summary="Any HTTPS receiver (Trimble Connect, Fieldwire, chat, your own systems); signed, retried.",
        connect_url="/settings/webhooks",
        capabilities=frozenset({Capability.webhook_out}),
        open_client=functools.partial(open_client, client_timeout=timeout),
        handlers=(WebhookDeliver(retry_schedule),),
        map_error=map_error,
    )
