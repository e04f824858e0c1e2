"""The one way FieldBridge calls Autodesk for a connection.

`open_client` is the ledger's client (`ConnectorSpec.open_client`): bearer token from the
shared `TokenManager` (refresh ahead of expiry and once on a 401, single-flight, the rotated
refresh token committed before use) and the connection's `x-ads-region` (sent to the ACC APIs,
never to Data Management, which lists hubs of every region); the ledger's channel
adds pacing and recording. `AccClient` is the same client for project sync, reconcile and the
inbound handler, plus error classification, read retries and both paginations APS uses
(JSON:API `links.next` in Data Management, `limit`/`offset` in Issues and Forms).
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import httpx

from fieldbridge.connections.connector import Outbound
from fieldbridge.connections.models import Connection
from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connections.tokens import BearerAuth
from fieldbridge.connectors.acc.config import AccConfig
from fieldbridge.connectors.acc.errors import (
    AccError,
    AccUnavailable,
    OutcomeUnknown,
    RateLimited,
    ReconnectRequired,
    classify,
)
from fieldbridge.connectors.acc.oauth import token_manager
from fieldbridge.connectors.acc.provider import REGION_HEADER, Region
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.netguard import EgressRefused

READ_RETRIES = 2
MAX_RATE_WAIT = 30.0
PAGE_LIMIT = 100  # Issues: "Acceptable values are 1-100"
FORMS_LIMIT = 50  # Forms lists: at most 50 a page


DM_PREFIX = "/project/"  # Data Management: hubs of every region, no `x-ads-region`


def _client(http: HttpClients, config: AccConfig, tokens: Any, *, region: bool) -> httpx.AsyncClient:
    hosts = config.hosts()
    client = http.client(base_url=hosts.base, emulator=hosts.emulator, auth=BearerAuth(tokens))
    if region:
        client.headers[REGION_HEADER] = config.region.value
    return client


@asynccontextmanager
async def open_client(out: Outbound, connection: Connection) -> AsyncIterator[httpx.AsyncClient]:
    config = AccConfig.model_validate(connection.config)
    tokens = token_manager(out.db, out.http, SecretBox(out.settings.secret), connection.id)
    async with _client(out.http, config, tokens, region=True) as client:  # Issues and Forms only
        yield client


class AccClient:
    """`async with AccClient(db, http, box, connection_id) as acc: await acc.get_json(...)`."""

    def __init__(self, db: Database, http: HttpClients, box: SecretBox, connection_id: int) -> None:
        self.db = db
        self.http = http
        self.connection_id = connection_id
        self.tokens = token_manager(db, http, box, connection_id)
        self.requests_sent = 0
        self.config: AccConfig | None = None
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        async with self.db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).get_for_job(self.connection_id)
        if connection is None:
            raise ReconnectRequired("This ACC connection was removed.", connection_id=self.connection_id)
        self.config = AccConfig.model_validate(connection.config)
        self._client = _client(self.http, self.config, self.tokens, region=False)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None, "use `async with AccClient(...)`"
        self.requests_sent += 1
        if self.config is not None and not url.startswith(DM_PREFIX):
            kwargs["headers"] = {REGION_HEADER: self.config.region.value, **(kwargs.get("headers") or {})}
        try:
            return await self._client.request(method, url, **kwargs)
        except EgressRefused as exc:
            raise AccUnavailable(f"Refused: {exc.host} is a {exc.reason}.") from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise AccUnavailable("Autodesk cannot be reached; it will be retried.") from exc
        except httpx.TransportError as exc:
            if method == "GET":
                raise AccUnavailable("Autodesk's answer was lost; it will be retried.") from exc
            raise OutcomeUnknown("Autodesk may have saved this change but its answer was lost.") from exc

    def use_region(self, region: Region) -> None:
        """Send `x-ads-region: region` from now on (learned from the hub)."""
        if self.config is not None:
            self.config.region = region

    async def send_raw(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, its response unclassified (for answers a caller reads itself)."""
        return await self._send_once(method.upper(), url, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A 2xx response, or a classified `AccError` (reads retried, 429s waited out)."""
        method = method.upper()
        retries = 0
        while True:
            try:
                response = await self._send_once(method, url, **kwargs)
                error = classify(response)
            except AccUnavailable as exc:
                error = exc
            if error is None:
                return response
            if isinstance(error, ReconnectRequired):
                raise await self.tokens.mark_reconnect(error.message) from error
            wait = getattr(error, "retry_after", None) or 0.5 * (retries + 1)
            retriable = isinstance(error, RateLimited) or (
                isinstance(error, AccUnavailable)
                and method == "GET"
                and not isinstance(error.__cause__, EgressRefused)
            )
            if retriable and retries < READ_RETRIES + 3 and wait <= MAX_RATE_WAIT:
                retries += 1
                await asyncio.sleep(wait)
                continue
            raise error

    async def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.request("GET", url, params=params)).json()

    async def post_json(self, url: str, body: Any) -> Any:
        return (await self.request("POST", url, json=body)).json()

    async def dm_list(self, url: str) -> list[dict[str, Any]]:
        """Every item of a Data Management (JSON:API) list, following `links.next`."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        next_url: str | None = url
        while next_url and next_url not in seen:
            seen.add(next_url)
            body = await self.get_json(next_url)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise AccError(f"Autodesk answered {url} without a data list.")
            items.extend(body["data"])
            link = (body.get("links") or {}).get("next")
            next_url = link.get("href") if isinstance(link, dict) else link
        return items

    async def results(self, url: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every result of an Issues/Forms list (`limit`/`offset`, `pagination.totalResults`)."""
        return await collect(lambda p: self.get_json(url, p), params)


async def collect(
    get: Any, params: Mapping[str, Any] | None = None, *, limit: int = PAGE_LIMIT
) -> list[dict[str, Any]]:
    """Walk `limit`/`offset` pages with `get(params) -> body` until `totalResults` is reached."""
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = await get({**(params or {}), "limit": limit, "offset": offset})
        page = body.get("results") or body.get("data") or [] if isinstance(body, dict) else []
        out.extend(page)
        total = ((body.get("pagination") or {}) if isinstance(body, dict) else {}).get("totalResults")
        offset += len(page)
        if not page or len(page) < limit or (total is not None and offset >= int(total)):
            return out


__all__ = ["AccClient", "collect", "open_client"]
