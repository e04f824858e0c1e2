"""`create_app`: the ACC sandbox (APS OAuth, Data Management, Issues, Forms, Webhooks and the
/_sandbox control API) as one FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.app import sandbox_app
from fieldbridge_sandbox.errors import HttpError
from fieldbridge_sandbox.middleware import SandboxMiddleware
from fieldbridge_sandbox.serialize import JSON
from fieldbridge_sandbox_acc import control, oauth
from fieldbridge_sandbox_acc.config import AccConfig
from fieldbridge_sandbox_acc.errors import acc_error, gateway_body
from fieldbridge_sandbox_acc.routes import dm, forms, issues, project_meta, webhooks_api
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.validation import SpecMiddleware
from fieldbridge_sandbox_acc.webhooks import AccWebhooks


def create_app(config: AccConfig | None = None) -> FastAPI:
    config = config or AccConfig()
    state = AccState(config)
    state.webhooks = AccWebhooks(state)
    modules = (oauth, dm, project_meta, issues, forms, webhooks_api, control)
    app = sandbox_app("FieldBridge ACC sandbox", state, modules)
    state.routes = list(app.router.routes)

    @app.exception_handler(HttpError)  # AccError, and the shared control routes' errors
    async def acc_failure(_: Request, exc: HttpError) -> Response:
        return Response(exc.encode(), status_code=exc.status, headers=exc.headers, media_type=JSON)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> Response:
        err = acc_error(exc.status_code, str(exc.detail))
        return Response(err.encode(), status_code=exc.status_code, media_type=JSON)

    # outermost first: faults and rate limits, then the Issues.yaml check around the routes
    app.add_middleware(SpecMiddleware, state=state)
    app.add_middleware(SandboxMiddleware, state=state, error_body=gateway_body)
    return app
