"""`/_sandbox/` control routes every emulated platform shares: faults, rate limits, request
counts, the clock and webhook draining. Each sandbox hangs its state on `app.state.sandbox`
with the attributes `ControlState` names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.config import Faults, RateLimits
from fieldbridge_sandbox.errors import bad_request
from fieldbridge_sandbox.middleware import MiddlewareState
from fieldbridge_sandbox.serialize import json_response


class _Clock(Protocol):
    clock_offset: float

    def now_iso(self) -> str: ...


class _Drainable(Protocol):
    async def drain(self, within: float) -> bool: ...

    def pending(self) -> int: ...


class ControlState(MiddlewareState, Protocol):
    @property
    def store(self) -> _Clock: ...

    @property
    def webhooks(self) -> _Drainable | None: ...


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; an empty body is `{}`; anything else a 400."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = await request.json()
    except ValueError:
        raise bad_request("Body must be JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Body must be a JSON object")
    return data


def control_state(request: Request) -> ControlState:
    state: ControlState = request.app.state.sandbox
    return state


def add_common_routes(
    router: APIRouter, on_faults: Callable[[Any, dict[str, Any]], None] | None = None
) -> None:
    """Register the shared routes on `router` (prefix `/_sandbox`). `on_faults(state, data)`
    may pop platform-specific keys from a PUT /faults body before it is validated."""

    @router.get("/faults")
    async def get_faults(request: Request) -> Response:
        return json_response(control_state(request).faults.faults.model_dump())

    @router.put("/faults")
    async def put_faults(request: Request) -> Response:
        state = control_state(request)
        data = await read_json(request)
        if on_faults is not None:
            on_faults(state, data)
        faults = Faults.model_validate({**state.faults.faults.model_dump(), **data})
        state.faults.configure(faults)
        return json_response(faults.model_dump())

    @router.put("/rate_limits")
    async def put_rate_limits(request: Request) -> Response:
        state = control_state(request)
        merged = {**state.limiter.limits.model_dump(), **await read_json(request)}
        state.limiter.limits = RateLimits.model_validate(merged)
        state.limiter.reset()
        return json_response(state.limiter.limits.model_dump())

    @router.get("/requests")
    async def requests(request: Request) -> Response:
        counts = control_state(request).request_counts
        rows = [
            {"method": m, "path": p, "status": s, "outcome": o, "count": c}
            for (m, p, s, o), c in sorted(counts.items())
        ]
        return json_response({"total": sum(r["count"] for r in rows), "requests": rows})

    @router.post("/clock")
    async def clock(request: Request) -> Response:
        """Move the sandbox clock forward (token expiry, code expiry, rate windows)."""
        store = control_state(request).store
        data = await read_json(request)
        try:
            store.clock_offset += float(data.get("advance_seconds", 0))
        except (TypeError, ValueError):
            raise bad_request("advance_seconds must be a number") from None
        return json_response({"now": store.now_iso(), "offset": store.clock_offset})

    @router.post("/webhooks/drain")
    async def drain(request: Request) -> Response:
        webhooks = control_state(request).webhooks
        data = await read_json(request)
        done = True if webhooks is None else await webhooks.drain(float(data.get("timeout", 5.0)))
        pending = 0 if webhooks is None else webhooks.pending()
        return json_response({"drained": done, "pending": pending})
