"""Pure ASGI middleware: a body-size limit, input checks, security headers and request metrics."""

import time
from collections.abc import Callable
from email.message import Message as MimeHeader
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldbridge.kit.errors import FieldBridgeError, PayloadTooLarge
from fieldbridge.kit.inputs import check_json, nul_in_pairs, nul_in_urlencoded, nul_refused
from fieldbridge.kit.metrics import HTTP_LATENCY, HTTP_REQUESTS

# How a refusal made before any route runs is rendered (the app passes one that knows HTML pages).
ErrorResponder = Callable[[Request, FieldBridgeError], Response]


def json_error(request: Request, error: FieldBridgeError) -> Response:
    return JSONResponse(error.body(), status_code=error.status_code, headers=error.headers)


async def _refuse(
    respond: ErrorResponder, error: FieldBridgeError, scope: Scope, receive: Receive, send: Send
) -> None:
    await respond(Request(scope), error)(scope, receive, send)


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(self)"),
]
HTML_CSP = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


UPLOAD_TYPES = (b"text/csv", b"multipart/form-data")


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` (`upload_bytes` for CSV and file uploads) with 413,
    whether or not Content-Length is sent.

    A streamed (chunked) body is counted as it arrives; once it passes the limit, whatever the
    app made of the cut-off body (a parse error) is dropped and the 413 is sent instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int | None = None,
        respond: ErrorResponder = json_error,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        upload = headers.get(b"content-type", b"").lower().startswith(UPLOAD_TYPES)
        limit = self.upload_bytes if upload else self.max_bytes
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(self.respond, self._error(limit), scope, receive, send)
            return
        seen = 0
        over = started = False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    raise self._error(limit)
            return message

        async def unless_over(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the app's answer to a body cut short; the 413 follows
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, unless_over)
        except PayloadTooLarge:
            if not over or started:
                raise
        if over and not started:
            await _refuse(self.respond, self._error(limit), scope, receive, send)

    @staticmethod
    def _error(limit: int) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {limit} bytes; send less at a time.")


class InputGuardMiddleware:
    """Refuses, before any route runs, text no route can use: a NUL character in the path, a query
    parameter, a form field or a JSON string (422 naming the field), and JSON nested deeper than
    `MAX_JSON_DEPTH` (400). CSV and file uploads pass as they are: their importers report per line.
    """

    def __init__(self, app: ASGIApp, respond: ErrorResponder = json_error) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = body_kind(scope)
        try:
            if "\x00" in scope["path"]:
                raise nul_refused(["path"])
            found = nul_in_urlencoded(scope["query_string"], "query")
            if found:
                raise nul_refused(found)
            if kind is None:
                await self.app(scope, receive, send)
                return
            body, _gone = await read_body(receive)
            await _check_body(kind, body, scope)
        except PayloadTooLarge:
            raise  # the body limit around this answers 413
        except FieldBridgeError as error:
            await _refuse(self.respond, error, scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)


def body_kind(scope: Scope) -> str | None:
    """Which check a request's body needs: "json", "form", "multipart", or None (no check)."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return None
    raw = next((v for k, v in scope["headers"] if k == b"content-type"), None)
    if raw is None or raw == b"application/json":
        return "json"  # FastAPI reads a body without a content type as JSON
    header = MimeHeader()
    header["content-type"] = raw.decode("latin-1")
    kind = header.get_content_type()
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return "json"
    if kind == "application/x-www-form-urlencoded":
        return "form"
    if kind == "multipart/form-data":
        return "multipart"
    return None


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The whole body, and whether the client went away before sending all of it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), False


def replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for an app after a middleware read the body: the body once, then the rest."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


async def _check_body(kind: str, body: bytes, scope: Scope) -> None:
    if kind == "json":
        check_json(body)
        return
    if kind == "form":
        found = nul_in_urlencoded(body, "form")
    elif b"\x00" not in body:
        return
    else:
        found = await _nul_in_multipart(scope, body)
    if found:
        raise nul_refused(found)


async def _nul_in_multipart(scope: Scope, body: bytes) -> list[str]:
    """Text fields of a multipart form that hold a NUL (a file's bytes are the file's business)."""

    async def once() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, once).form() as form:
            pairs = [(k, v) for k, v in form.multi_items() if not isinstance(v, UploadFile)]
    except MultiPartException:  # a malformed form is the route's to report, in its own words
        return []
    return nul_in_pairs(pairs, "form")


HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeadersMiddleware:
    """Security headers on every response, a strict CSP on every HTML page (the API docs
    included: Swagger UI is vendored and started from a file), and HSTS when `hsts` (the
    server is reached over https)."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, HSTS] if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(self.headers)
                content_type = next((v for k, v in headers if k == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    headers.append((b"content-security-policy", HTML_CSP))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class MetricsMiddleware:
    """Counts and times every request by method, route template and status. Pure ASGI: the
    `BaseHTTPMiddleware` form costs about a millisecond a request in task groups and streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (method, route template, status) -> its counter and histogram; bounded by the app's
        # routes ("unmatched" for every other path) and the statuses they give.
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")  # set by the router on this scope
            key = (scope["method"], route, status[0])
            found = self._series.get(key)
            if found is None:  # `labels` validates and locks on every call: once per series
                found = self._series[key] = (
                    HTTP_REQUESTS.labels(key[0], route, str(key[2])),
                    HTTP_LATENCY.labels(key[0], route),
                )
            found[0].inc()
            found[1].observe(time.perf_counter() - started)
