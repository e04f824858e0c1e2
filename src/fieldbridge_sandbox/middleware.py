"""One pure-ASGI layer in front of every route: rate limits, faults, request counts.

Pure ASGI (not BaseHTTPMiddleware) keeps the hot path cheap: no extra task, no body copy.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldbridge_sandbox.errors import api_error
from fieldbridge_sandbox.faults import FaultInjector, SandboxConnectionDropped, SandboxTimeout
from fieldbridge_sandbox.ratelimit import RATE_LIMIT_MESSAGE, RateLimiter

# (status, message, reason) -> the JSON body an emulated platform answers an error with
ErrorBody = Callable[[int, str, str], dict[str, Any]]


class MiddlewareState(Protocol):
    """What the middleware needs from a sandbox's state (Procore's and ACC's both have it)."""

    limiter: RateLimiter
    faults: FaultInjector
    request_counts: Counter[tuple[str, str, int, str]]
    routes: list[BaseRoute]


def procore_error_body(status: int, message: str, reason: str) -> dict[str, Any]:
    return api_error(status, message, reason).body


CONTROL_PREFIX = "/_sandbox"
# How a request ended, as `/_sandbox/requests` reports it (status 0 = no response reached the client).
ANSWERED, DROPPED, TIMED_OUT = "answered", "dropped", "timed_out"


def _rate_key(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).decode("latin-1")
    client = scope.get("client")
    return f"anon:{client[0] if client else 'local'}"


async def send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class SandboxMiddleware:
    def __init__(
        self, app: ASGIApp, state: MiddlewareState, error_body: ErrorBody = procore_error_body
    ) -> None:
        self.app = app
        self.state = state
        self.error_body = error_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        state = self.state
        method: str = scope["method"]
        verdict = state.limiter.hit(_rate_key(scope))
        rl_headers = verdict.headers()
        plan = state.faults.plan(method) if state.faults.applies(scope["path"]) else None
        status_box = [0]

        if plan is not None and plan.delay:
            await asyncio.sleep(plan.delay)
        if not verdict.allowed or (plan is not None and plan.throttle):
            retry = str(
                verdict.retry_after if not verdict.allowed else state.faults.faults.retry_after_seconds
            ).encode()
            body = self.error_body(429, RATE_LIMIT_MESSAGE, "rate_limited")
            self._count(scope, 429)
            await send_json(send, 429, body, [*rl_headers, (b"retry-after", retry)])
            return
        if plan is not None and plan.hang:
            await self._hang(scope, receive, send, plan.hang)
            return
        if plan is not None and plan.error_status:
            status = plan.error_status
            extra = [(b"retry-after", str(state.faults.faults.retry_after_seconds).encode())]
            body = self.error_body(status, "Sandbox injected server error", "injected_fault")
            self._count(scope, status)
            await send_json(send, status, body, [*rl_headers, *extra])
            return

        drop = plan is not None and plan.drop
        held: list[Message] = []

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                message["headers"] = [*message.get("headers", []), *rl_headers]
            if drop:
                held.append(message)
            else:
                await send(message)

        await self.app(scope, receive, send_wrapper)
        self._count(scope, 0 if drop else status_box[0], DROPPED if drop else ANSWERED)
        if drop:
            # The handler ran (the write is committed); start the response, then break it.
            if held:
                await send(held[0])
            raise SandboxConnectionDropped("sandbox fault: connection dropped after commit")

    async def _hang(self, scope: Scope, receive: Receive, send: Send, seconds: float) -> None:
        """No answer: wait until the client gives up (disconnects) or `seconds` pass. A client
        still waiting then gets a broken connection, never a status it could act on: the
        response is started (uvicorn writes it) and the app raises, so uvicorn closes the socket
        mid-response; in-process, `ASGITransport` re-raises `SandboxTimeout` to the caller."""
        self._count(scope, 0, TIMED_OUT)
        try:
            async with asyncio.timeout(seconds):
                while (await receive())["type"] != "http.disconnect":
                    pass
            return  # the client timed out and closed the connection first
        except TimeoutError:
            pass
        await send({"type": "http.response.start", "status": 504, "headers": []})
        raise SandboxTimeout("sandbox fault: no response within the client's timeout")

    def _match(self, scope: Scope) -> BaseRoute | None:
        """The route a request would have reached (for requests a fault answered)."""
        for route in self.state.routes:
            if route.matches(scope)[0] is Match.FULL:
                return route
        return None

    def _count(self, scope: Scope, status: int, outcome: str = ANSWERED) -> None:
        route = scope.get("route") or self._match(scope)
        template = getattr(route, "path", None) or scope["path"]
        self.state.request_counts[(scope["method"], template, status, outcome)] += 1
