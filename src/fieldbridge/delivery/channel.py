"""The recording, budget-paced line a drain hands to delivery handlers."""

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from fieldbridge.delivery.budget import Budget
from fieldbridge.delivery.metrics import RATE_LIMITED
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.logging import redact

MAX_SUMMARY_CHARS = 6_000


class BudgetPause(Exception):
    """The rate budget says wait longer than this drain may run; put the rows back."""

    def __init__(self, wait_seconds: float) -> None:
        super().__init__(f"rate budget exhausted for {wait_seconds:.1f}s")
        self.wait_seconds = wait_seconds


@dataclass
class Exchange:
    ids: tuple[int, ...]
    started_at: datetime
    duration_ms: int
    request: dict[str, Any]
    status: int | None = None
    response: dict[str, Any] | None = None
    rate_limit: dict[str, Any] | None = None
    error: str | None = None


def _summary(body: Any) -> Any:
    """A redacted body, cut to size (stored in attempt rows; never headers, never tokens)."""
    clean = redact(body)
    text = json.dumps(clean, default=str)
    return clean if len(text) <= MAX_SUMMARY_CHARS else text[:MAX_SUMMARY_CHARS] + "…"


def _content_summary(content: bytes) -> Any:
    """Raw bytes as sent (e.g. a signed webhook body): parsed when JSON, else as text."""
    text = content.decode("utf-8", errors="replace")
    try:
        return _summary(json.loads(text))
    except ValueError:
        return _summary(text)


def _response_body(response: httpx.Response) -> Any:
    try:
        return _summary(response.json())
    except ValueError:
        return _summary(response.text)


class RecordingChannel:
    """Paced by `budget`, whose policy also names the rate-limit headers kept per exchange."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        budget: Budget,
        connection_id: int,
        external_account_id: str | None,
        max_wait_seconds: float,
    ) -> None:
        self.client = client
        self.budget = budget
        self.connection_id = connection_id
        self.external_account_id = external_account_id
        self.max_wait_seconds = max_wait_seconds
        self.exchanges: list[Exchange] = []

    async def send(
        self,
        method: str,
        url: str,
        *,
        for_ids: Sequence[int],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """One request. `content` goes out byte for byte (so a signature over it holds);
        `headers` are sent but never recorded (they may carry signatures or tokens)."""
        if json is not None and content is not None:
            raise ValueError("send either json or content, not both")
        if not await self.budget.take(max_wait_s=self.max_wait_seconds):
            raise BudgetPause(await self.budget.wait_hint_ms() / 1000 or 1.0)
        request: dict[str, Any] = {"method": method, "url": url}
        if params:
            request["params"] = _summary(dict(params))
        if json is not None:
            request["body"] = _summary(json)
        if content is not None:
            request["body"] = _content_summary(content)
        started, clock = utcnow(), time.perf_counter()
        exchange = Exchange(tuple(for_ids), started, 0, request)
        self.exchanges.append(exchange)
        try:
            response = await self.client.request(
                method, url, json=json, params=params, headers=headers, content=content
            )
        except Exception as exc:
            exchange.duration_ms = int((time.perf_counter() - clock) * 1000)
            exchange.error = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        exchange.duration_ms = int((time.perf_counter() - clock) * 1000)
        exchange.status = response.status_code
        exchange.response = {"status": response.status_code, "body": _response_body(response)}
        exchange.rate_limit = {
            k: response.headers[k] for k in self.budget.policy.headers if k in response.headers
        } or None
        if response.status_code == 429:
            RATE_LIMITED.inc()
        await self.budget.observe(response.headers, response.status_code)
        return response

    def take_exchanges(self) -> list[Exchange]:
        out, self.exchanges = self.exchanges, []
        return out
