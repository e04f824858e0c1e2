"""An ASGI layer that holds requests and responses against Autodesk's OpenAPI documents:
Issues API calls against Issues.yaml, Webhooks API calls against webhooks.yaml, and the token
and revoke calls against authentication.yaml (`spec.DOCUMENTS`).

A request that fails its document is answered 400 with that API's error body naming each field
(for Issues and Webhooks after the token check: a caller without a valid token gets the route's
401 first). A response that fails it is a sandbox bug: it is logged, listed by
`/_sandbox/spec_violations`, and the client gets a 500 instead of the bad body. Statuses a
document does not list for an operation (401, 429, injected 5xx) cannot be checked and pass.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fieldbridge_sandbox.middleware import send_json
from fieldbridge_sandbox_acc.errors import AccError, acc_error, bad_input, oauth_error, webhooks_error
from fieldbridge_sandbox_acc.spec import (
    AUTHENTICATION,
    WEBHOOKS,
    Document,
    SpecResponse,
    document_for,
    spec_request,
    validate_request,
    validate_response,
)
from fieldbridge_sandbox_acc.state import AccState

log = logging.getLogger("fieldbridge_sandbox_acc.validation")


def _token_ok(state: AccState, headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            record = state.store.access_tokens.get(value[7:].decode("latin-1").strip())
            return bool(record and not record.get("revoked") and state.store.now() < record["expires_at"])
    return False


def _refusal(document: Document, problems: list[dict[str, str]]) -> AccError:
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    if document is AUTHENTICATION:
        return oauth_error(400, "invalid_request", detail)
    if document is WEBHOOKS:
        return webhooks_error(400, f"The request does not match the API definition: {detail}")
    return bad_input(f"The request does not match the API definition: {detail}", problems)


class SpecMiddleware:
    def __init__(self, app: ASGIApp, state: AccState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cfg = self.state.config
        document = document_for(scope["path"]) if scope["type"] == "http" else None
        if document is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        request = spec_request(
            "http://sandbox",
            scope["method"],
            scope["path"],
            scope.get("query_string", b""),
            scope["headers"],
            body,
        )
        checked = not document.bearer_first or _token_ok(self.state, scope["headers"])
        if cfg.validate_requests and checked:
            problems = validate_request(document, request)
            if problems:
                await send_json(send, 400, _refusal(document, problems).body, [])
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if not cfg.validate_responses:
            await self.app(scope, replay, send)
            return
        start: Message | None = None
        out: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        assert start is not None
        data = b"".join(out)
        headers = dict(start.get("headers", []))
        ctype = headers.get(b"content-type", b"application/json").decode().split(";")[0]
        found = validate_response(document, request, SpecResponse(data, start["status"], ctype))
        if found:
            violation = {
                "method": scope["method"],
                "path": scope["path"],
                "status": start["status"],
                "document": document.file,
                "problems": found,
            }
            self.state.spec_violations.append(violation)
            log.error("ACC sandbox response fails %s: %s", document.file, json.dumps(violation))
            err = acc_error(500, f"Sandbox bug: the response would not match {document.file}", found)
            await send_json(send, 500, err.body, [])
            return
        await send(start)
        await send({"type": "http.response.body", "body": data})
