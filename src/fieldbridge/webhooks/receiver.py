"""A reference receiver: verifies Standard Webhooks signatures, de-duplicates by `webhook-id`,
and hands each new event on (the CLI prints it; the benchmark counts it).

    fieldbridge webhooks receive --secret whsec_... [--secret whsec_old...] --port 9000

Several secrets may be given (a rotation's old and new one). A bad or stale signature is a 401;
a duplicate (a retry or resend of a message already taken) is acknowledged with 200 and not
handed on again, which is what a receiver must do: ordering is not promised, and `webhook-id`
is the de-duplication key.
"""

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_BODY = 1_048_576


@dataclass
class ReferenceReceiver:
    secrets: Sequence[str]
    on_event: Callable[[str, dict[str, Any], dict[str, str]], None] = lambda _id, _event, _headers: None
    on_rejected: Callable[[str], None] = lambda _reason: None
    seen: set[str] = field(default_factory=set)
    duplicates: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        last: Exception | None = None
        for secret in self.secrets:
            try:
                event: dict[str, Any] = Webhook(secret).verify(body, headers)
                return event
            except WebhookVerificationError as exc:
                last = exc
        raise WebhookVerificationError(str(last) if last else "no secret given")

    def take(self, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        """(status, what happened) for one delivery."""
        try:
            event = self.verify(body, headers)
        except (WebhookVerificationError, ValueError) as exc:
            self.on_rejected(str(exc))
            return 401, f"signature rejected: {exc}"
        message_id = headers["webhook-id"]
        with self.lock:
            if message_id in self.seen:
                self.duplicates += 1
                return 200, "duplicate"
            self.seen.add(message_id)
        self.on_event(message_id, event, headers)
        return 200, "ok"

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        status, said = self.take(body, {k.lower(): v for k, v in request.headers.items()})
        return JSONResponse({"result": said}, status_code=status)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.endpoint, methods=["POST"])])


def printer(echo: Callable[[str], None]) -> Callable[[str, dict[str, Any], dict[str, str]], None]:
    def show(message_id: str, event: dict[str, Any], headers: dict[str, str]) -> None:
        echo(json.dumps({"webhook-id": message_id, "event": event}, ensure_ascii=False))

    return show
