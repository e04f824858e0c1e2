"""`create_app`: the whole sandbox (OAuth + REST + control API) as one FastAPI app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import ModuleType
from typing import Protocol

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox import control, oauth
from fieldbridge_sandbox.config import SandboxConfig
from fieldbridge_sandbox.errors import ProcoreError, api_error
from fieldbridge_sandbox.middleware import SandboxMiddleware
from fieldbridge_sandbox.routes import (
    core,
    daily_log,
    observations,
    people,
    safety,
    timecards,
    timekeeping,
    wbs,
    webhooks_api,
)
from fieldbridge_sandbox.serialize import JSON
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.webhooks import WebhookDispatcher

WRITE_METHODS = {"POST", "PATCH", "PUT"}
PROCORE_PREFIXES = ("/rest/", "/oauth/")


def write_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) on Procore's surface that takes a request body."""
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path.startswith(PROCORE_PREFIXES):
            out += [(m, route.path) for m in sorted(route.methods or ()) if m in WRITE_METHODS]
    return out


class _Saves(Protocol):
    def save(self) -> None: ...


class _Closes(Protocol):
    async def aclose(self) -> None: ...


class AppState(Protocol):
    @property
    def store(self) -> _Saves: ...

    @property
    def webhooks(self) -> _Closes | None: ...


def sandbox_app(title: str, state: AppState, modules: Sequence[ModuleType]) -> FastAPI:
    """A FastAPI app for a sandbox: `state` on `app.state.sandbox`, the routers of `modules`
    in order, and a lifespan that stops webhook delivery and saves the store on shutdown."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if state.webhooks is not None:
            await state.webhooks.aclose()
        state.store.save()

    app = FastAPI(
        title=title,
        lifespan=lifespan,
        docs_url="/_sandbox/docs",
        redoc_url=None,
        openapi_url="/_sandbox/openapi.json",
    )
    app.state.sandbox = state
    for module in modules:
        # Add the routes themselves (not a lazily-included router) so `app.routes` lists them
        # and `scope["route"]` is the APIRoute with its path template.
        app.router.routes.extend(module.router.routes)
    return app


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    config = config or SandboxConfig()
    state = SandboxState(config)
    state.webhooks = WebhookDispatcher(state)
    modules = (
        oauth,
        core,
        wbs,
        people,
        timecards,
        timekeeping,
        safety,
        observations,
        daily_log,
        webhooks_api,
        control,
    )
    app = sandbox_app("FieldBridge Procore sandbox", state, modules)

    state.routes = list(app.router.routes)
    missing = [op for op in write_operations(app) if not state.validators.has(*op)]
    if missing:
        raise RuntimeError(f"write operations without a request schema: {missing}")

    @app.exception_handler(ProcoreError)
    async def procore_error(request: Request, exc: ProcoreError) -> Response:
        status = exc.status
        route = request.scope.get("route")
        operation = (request.method, getattr(route, "path", ""))
        if status == 422 and operation in state.validators.invalid_as_400:
            status = 400  # the operation documents 400 for refused bodies, never 422
        return Response(exc.encode(), status_code=status, headers=exc.headers, media_type=JSON)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        err = api_error(exc.status_code, str(exc.detail))
        return Response(err.encode(), status_code=exc.status_code, media_type=JSON)

    app.add_middleware(SandboxMiddleware, state=state)
    return app
