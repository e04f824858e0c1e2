"""`ProcoreClient`: the one way FieldBridge calls Procore's REST API for a connection.

Usage (the delivery ledger, project sync, clock-in all do this)::

    async with ProcoreClient(db, http, box, connection_id, budget=budget) as procore:
        entry = await procore.post_json(f"/rest/v1.0/projects/{pid}/timecard_entries", {...})
        async for page in procore.pages("/rest/v1.0/cost_codes", {"project_id": pid}):
            ...

What it does for every request:

- sends `Procore-Company-Id` (the connection's Procore company; `company_id=` overrides it
  for the company picker, which runs before a company is chosen);
- injects `Authorization: Bearer ...` in an `httpx.Auth` flow backed by `TokenManager`
  (`tokens.py`): refresh ahead of expiry and once on a 401, single-flight per connection
  across processes, the rotated refresh token committed before the new access token is used;
- draws from the connection's rate budget when one is given (`RateBudget` protocol below;
  `ProcoreClient.paced(...)` uses the ledger's shared `delivery.budget.Budget`) and feeds it
  every response's `X-Rate-Limit-*` headers; 429s wait `Retry-After` (up to
  `max_rate_wait` seconds, then `RateLimited` is raised for the caller to reschedule);
- retries reads (GET) on 5xx/connection errors a couple of times; never retries writes;
- turns failures into `errors.py` classes. The ones a caller must handle:
    * `ReconnectRequired` - the connection is already marked `needs_reconnect` (refresh lost,
      invalid_grant, revoked token, app uninstalled). Park the work; do not retry.
    * `OutcomeUnknown` - a write was sent and its answer lost: look it up before resending.
    * `RateLimited` / `ProcoreUnavailable` (`Retriable`, `.retry_after`) - try later.
    * `Rejected` / `NotPermitted` / `RemoteNotFound` - permanent, `.message` is readable.

The client never logs tokens. `requests_sent` counts requests (for benchmarks).
"""

import asyncio
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from fieldbridge.connections.repository import ConnectionRepository
from fieldbridge.connections.tokens import BearerAuth
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.errors import (
    OutcomeUnknown,
    ProcoreError,
    ProcoreUnavailable,
    RateLimited,
    ReconnectRequired,
    Retriable,
    classify,
)
from fieldbridge.connectors.procore.oauth import token_manager
from fieldbridge.connectors.procore.pagination import Paginator
from fieldbridge.connectors.procore.provider import PROCORE, RATE_LIMIT
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.netguard import EgressRefused
from fieldbridge.kit.ratelimit import Priority

log = get_logger("fieldbridge.procore.client")
READ_RETRIES = 2
READ_BACKOFF = (0.2, 1.0)


class RateBudget(Protocol):
    """What the client needs from a connection's rate budget (`delivery.budget.Budget` fits)."""

    async def take(self, max_wait_s: float | None = None) -> bool:
        """Take one request slot, waiting up to `max_wait_s`; False if it would take longer."""

    async def observe(self, headers: httpx.Headers, status: int) -> None:
        """Learn from a response's `X-Rate-Limit-*` headers (and a 429's Retry-After)."""

    async def wait_hint_ms(self) -> int:
        """How long until a slot is likely free."""


class ProcoreClient:
    def __init__(
        self,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection_id: int,
        *,
        budget: RateBudget | None = None,
        company_id: int | None = None,
        max_rate_wait: float = 60.0,
    ) -> None:
        self.connection_id = connection_id
        self.tokens = token_manager(db, http, box, connection_id)
        self.db = db
        self.http = http
        self.budget = budget
        self.company_id = company_id
        self.max_rate_wait = max_rate_wait
        self.requests_sent = 0
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def paced(
        cls,
        db: Database,
        http: HttpClients,
        box: SecretBox,
        connection_id: int,
        priority: Priority = Priority.change,
        **kw: Any,
    ) -> Self:
        """A client drawing every request from the connection's shared rate budget, as `priority`."""
        from fieldbridge.delivery.budget import Budget  # the ledger owns the budget

        budget = Budget(db, connection_id, RATE_LIMIT, priority)
        return cls(db, http, box, connection_id, budget=budget, **kw)

    async def __aenter__(self) -> Self:
        async with self.db.transaction() as session:
            connection = await ConnectionRepository.from_session(session).get_for_job(self.connection_id)
        if connection is None:
            raise ReconnectRequired("This Procore connection was removed.", connection_id=self.connection_id)
        config = ProcoreConfig.model_validate(connection.config)
        company = self.company_id or connection.external_account_id
        headers = {PROCORE.company_header: str(company)} if company else {}
        hosts = config.hosts()
        self._client = self.http.client(
            base_url=hosts.api_base, emulator=hosts.emulator, auth=BearerAuth(self.tokens)
        )
        self._client.headers.update(headers)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._client is not None, "use `async with ProcoreClient(...)`"
        if self.budget is not None and not await self.budget.take(max_wait_s=self.max_rate_wait):
            hint = await self.budget.wait_hint_ms() / 1000
            raise RateLimited("This connection's Procore rate budget is used up for now.", retry_after=hint)
        self.requests_sent += 1
        try:
            response = await self._client.request(method, url, **kwargs)
        except EgressRefused as exc:  # the guard's verdict; asking again changes nothing now
            raise ProcoreUnavailable(f"Refused: {exc.host} is a {exc.reason}.") from exc
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProcoreUnavailable("Procore cannot be reached; it will be retried.") from exc
        except httpx.TransportError as exc:
            if method == "GET":
                raise ProcoreUnavailable("Procore's answer was lost; it will be retried.") from exc
            raise OutcomeUnknown(
                "Procore may have saved this change but its answer was lost; check before sending again."
            ) from exc
        if self.budget is not None:
            await self.budget.observe(response.headers, response.status_code)
        return response

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; a 2xx/3xx response, or a classified `ProcoreError`."""
        method = method.upper()
        read_attempt = 0
        rate_waits = 0
        while True:
            try:
                response = await self._send_once(method, url, **kwargs)
                error = classify(response)
            except ProcoreUnavailable as exc:
                error = exc
            if error is None:
                return response
            if isinstance(error, ReconnectRequired):
                raise await self.tokens.mark_reconnect(error.message) from error
            if isinstance(error, RateLimited):
                wait = error.retry_after if error.retry_after is not None else 1.0
                if wait <= self.max_rate_wait and rate_waits < 5:
                    rate_waits += 1
                    log.info("procore.rate_limited_wait", seconds=wait, connection_id=self.connection_id)
                    await asyncio.sleep(wait)
                    continue
                raise error
            refused = isinstance(error.__cause__, EgressRefused)
            if (
                isinstance(error, ProcoreUnavailable)
                and method == "GET"
                and read_attempt < READ_RETRIES
                and not refused
            ):
                wait = min(error.retry_after or READ_BACKOFF[read_attempt], 5.0)
                read_attempt += 1
                await asyncio.sleep(wait)
                continue
            raise error

    async def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        return (await self.request("GET", url, params=params)).json()

    async def post_json(self, url: str, body: Any) -> Any:
        return (await self.request("POST", url, json=body)).json()

    async def patch_json(self, url: str, body: Any) -> Any:
        return (await self.request("PATCH", url, json=body)).json()

    async def delete(self, url: str, params: Mapping[str, Any] | None = None) -> None:
        await self.request("DELETE", url, params=params)

    async def pages(
        self, url: str, params: Mapping[str, Any] | None = None, *, per_page: int = PROCORE.max_per_page
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every page of a Procore list, following Link/Total (loop-safe, see `pagination.py`)."""
        query = {**(params or {}), "per_page": per_page}
        paginator = Paginator()
        response = await self.request("GET", url, params=query)
        while True:
            items = response.json()
            if not isinstance(items, list):
                raise ProcoreError(f"Procore answered {url} with an object where a list was expected.")
            yield items
            nxt = paginator.advance(str(response.url), response.headers, len(items))
            if nxt is None:
                return
            response = await self.request("GET", nxt)

    async def get_all(self, url: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self.pages(url, params):
            out.extend(page)
        return out


__all__ = ["BearerAuth", "ProcoreClient", "RateBudget", "Retriable"]
