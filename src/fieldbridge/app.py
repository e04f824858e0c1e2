"""The FastAPI application: routers, error rendering, middleware, health and metrics."""

import asyncio
import gc
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fieldbridge import __version__, wiring
from fieldbridge.accounts import api as accounts_api
from fieldbridge.accounts import web as accounts_web
from fieldbridge.connections import api as connections_api
from fieldbridge.connectors import api as connectors_api
from fieldbridge.connectors import web as connectors_web
from fieldbridge.delivery import api as delivery_api
from fieldbridge.delivery import runners as delivery_runners
from fieldbridge.delivery import web as delivery_web
from fieldbridge.inbound import api as inbound_api
from fieldbridge.incidents import api as incidents_api
from fieldbridge.incidents import web as incidents_web
from fieldbridge.jobs.runner import run_local_jobs, run_periodic_jobs
from fieldbridge.kit.crypto import constant_time_equal
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import FieldBridgeError, NotAuthenticated, error_body
from fieldbridge.kit.hotpath import HotPaths
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import configure_logging, get_logger
from fieldbridge.kit.middleware import (
    BodyLimitMiddleware,
    InputGuardMiddleware,
    MetricsMiddleware,
    SecurityHeadersMiddleware,
)
from fieldbridge.safety import api as safety_api
from fieldbridge.safety import web as safety_web
from fieldbridge.safety.tasks import run_safety_refresh
from fieldbridge.settings import Settings
from fieldbridge.sites import api as sites_api
from fieldbridge.sites import web as sites_web
from fieldbridge.sites.tasks import run_sync_scheduler
from fieldbridge.timekeeping import api as timekeeping_api
from fieldbridge.timekeeping import phone
from fieldbridge.timekeeping import web as timekeeping_web
from fieldbridge.web.render import STATIC_DIR, error_page, templates, wants_html
from fieldbridge.webhooks import api as webhooks_api
from fieldbridge.webhooks import web as webhooks_web

log = get_logger("fieldbridge.app")
WARM_CONNECTIONS = 10  # the pool's size: opened before the first request
OUT_OF_RANGE = re.compile(r"out of (\w+ )?range")

# Every router of the app, in one explicit list per surface.
API_ROUTERS: list[APIRouter] = [
    accounts_api.public_router,
    accounts_api.router,
    connections_api.router,
    connectors_api.router,
    inbound_api.public_router,
    sites_api.router,
    timekeeping_api.router,
    delivery_api.router,
    webhooks_api.router,
    safety_api.router,
    incidents_api.router,
]
WEB_ROUTERS: list[APIRouter] = [
    accounts_web.router,
    connectors_web.router,
    sites_web.router,
    timekeeping_web.router,
    delivery_web.router,
    webhooks_web.router,
    safety_web.router,
    incidents_web.router,
]


def _validation_message(exc: RequestValidationError) -> tuple[int, str, list[dict[str, Any]]]:
    details = [
        {"field": ".".join(str(p) for p in err.get("loc", ())), "problem": err.get("msg", "")}
        for err in exc.errors()
    ]
    if any(err.get("type") == "json_invalid" for err in exc.errors()):
        return (
            400,
            "The request body is not valid JSON. Check quotes, commas and brackets.",
            details,
        )
    first = details[0] if details else {"field": "?", "problem": "invalid"}
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return 422, f"{first['field']}: {first['problem']}{more}", details


def _is_out_of_range(exc: DBAPIError) -> bool:
    """The database refused a value the caller sent (e.g. an id beyond BIGINT), not our bug."""
    return isinstance(exc, DataError) or OUT_OF_RANGE.search(str(exc.orig)) is not None


def error_response(request: Request, exc: FieldBridgeError) -> Response:
    """An error as the caller reads it: the error page for a browser, the JSON shape for the API."""
    if wants_html(request):
        return error_page(request, exc.status_code, exc.message, exc.headers)
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FieldBridgeError)
    async def domain_error(request: Request, exc: FieldBridgeError) -> Response:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        status, message, details = _validation_message(exc)
        return JSONResponse(error_body("invalid_request", message, details), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {
            404: f"Nothing lives at {request.url.path}. See /api/docs for the routes.",
            405: f"{request.method} is not allowed on {request.url.path}.",
        }
        message = messages.get(exc.status_code, str(exc.detail))
        if wants_html(request):
            return error_page(request, exc.status_code, message, None)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("http.unhandled", path=request.url.path)
        return JSONResponse(
            error_body("internal", "Something went wrong on our side; it is logged. Try again shortly."),
            status_code=500,
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DBAPIError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        if isinstance(exc, DBAPIError) and not _is_out_of_range(exc):
            return await unexpected(request, exc)
        # A number too large for a BIGINT column (or text too long for PostgreSQL) is the caller's
        # input, not our failure: the transaction has rolled back; say what to fix.
        message = "A number or text in the request is out of range (ids are at most 9223372036854775807)."
        if wants_html(request):
            return error_page(request, 422, message, None)
        return JSONResponse(error_body("out_of_range", message), status_code=422)


def _check_metrics_access(settings: Settings, request: Request) -> None:
    """/metrics needs the bearer FIELDBRIDGE_METRICS_TOKEN when one is set; without one it
    answers only in dev/demo/test (404 in production, as if it were not there)."""
    if settings.metrics_token is None:
        if not settings.is_dev:
            raise StarletteHTTPException(404)
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    if scheme.lower() != "bearer" or not constant_time_equal(given.strip(), expected):
        raise NotAuthenticated(
            "/metrics needs `Authorization: Bearer <FIELDBRIDGE_METRICS_TOKEN>`.",
            headers={"WWW-Authenticate": "Bearer"},
        )


# The phone's calls, most of the traffic at 7 AM: matched before the ~230 other routes (the
# router tries routes in order, about 1.5 microseconds each). Fully static paths, so moving
# them first cannot shadow another route.
HOT_PATHS = frozenset({phone.CLOCK_IN, phone.CLOCK_OUT})


def first(app: FastAPI, paths: frozenset[str]) -> None:
    """Move the routes at `paths` to the front of the app's route list, in their order."""
    routes = app.router.routes
    hot = [r for r in routes if getattr(r, "path", None) in paths]
    app.router.routes[:] = [*hot, *(r for r in routes if r not in hot)]


def create_app(settings: Settings | None = None, http: HttpClients | None = None) -> FastAPI:
    """The app. `http` carries the transport outbound calls use (the sandbox in tests and demo)."""
    settings = settings or Settings()
    configure_logging(json=settings.json_logs)
    wiring.install(settings)  # the connectors and inbound handlers this process serves

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop_runner = await delivery_runners.start(app.state.db, app.state.http, settings)
        stop_scheduler = asyncio.Event()
        periodic = (
            [
                asyncio.create_task(
                    run_sync_scheduler(
                        app.state, interval_seconds=settings.sync_interval_seconds, stop=stop_scheduler
                    )
                ),
                asyncio.create_task(run_local_jobs(app.state.db, settings, stop_scheduler)),
                asyncio.create_task(
                    run_periodic_jobs(app.state.db, app.state.http, settings, stop_scheduler)
                ),
                asyncio.create_task(run_safety_refresh(app.state, stop_scheduler)),
            ]
            if settings.scheduler
            else []
        )
        yield
        stop_scheduler.set()
        await asyncio.gather(*periodic)
        await stop_runner()
        await app.state.db.dispose()

    app = FastAPI(
        title="FieldBridge API",
        version=__version__,
        description="Crew time and site safety data into Procore, ACC, Trimble Connect and Fieldwire.",
        docs_url=None,  # served below from vendored files (no CDN; a strict CSP)
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = Database(settings.database_url)
    app.state.http = http or HttpClients(allow_emulators=settings.offline_sandbox_allowed)

    api = APIRouter(prefix="/api/v1")
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    for router in WEB_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    first(app, HOT_PATHS)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            async with app.state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; say why
            log.warning("readyz.database_unreachable", error=str(exc))
            return JSONResponse(
                error_body("database_unreachable", "The database does not answer; check DATABASE_URL."),
                status_code=503,
            )
        return JSONResponse({"status": "ready"})

    @app.get("/api/docs", include_in_schema=False)
    async def api_docs(request: Request) -> Response:
        return templates.TemplateResponse(
            request, "api_docs.html", {"title": app.title, "openapi_url": app.openapi_url}
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        _check_metrics_access(settings, request)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    if settings.hot_path and not app.state.db.is_sqlite:
        routes = {getattr(r, "path", None): r for r in app.router.routes}
        app.add_middleware(
            HotPaths,
            handlers=phone.handlers(app.state, settings),
            routes={path: routes[path] for path in HOT_PATHS},
        )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(InputGuardMiddleware, respond=error_response)  # reads what the limit lets in
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        respond=error_response,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.secure_cookies)
    _install_error_handlers(app)
    return app


def create_server_app() -> FastAPI:
    """The app as a server process runs it (`fieldbridge serve`, the benchmarks): built once,
    alive until the process ends, and warm before its first request.

    - What the first phone call would import (the connectors behind the ledger) is imported now.
    - The pool opens its connections during start-up instead of one per early request.
    - Everything start-up made (modules, routes, models, mappers: most of the heap) is moved
      out of the cyclic GC's reach, so a full collection only walks what requests made since:
      100+ ms event-loop stalls become a few milliseconds.
    """
    app = create_app()
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with started(app):
            try:
                await app.state.db.warm(WARM_CONNECTIONS)
            except Exception as exc:  # a database that is down now is /readyz's to report
                log.warning("db.warm_failed", error=str(exc))
            yield

    app.router.lifespan_context = lifespan
    gc.collect()
    gc.freeze()
    return app
