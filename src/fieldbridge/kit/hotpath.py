"""Pure ASGI answers for the few POST routes that carry most of the traffic (the phone's
clock-in and clock-out at 7 AM), in front of the framework's routing and dependency solving.

A handler gets the request's headers and body and either answers, `(status, JSON bytes)`, or
declines with None: then the request goes on to the app with its body, exactly as if the
handler were not there, and the route answers it in full (refusals, replays, anything
unusual). So a handler only needs to know the usual case, and the route stays the one place
that knows every answer. The route's `response_model` still documents what a handler sends.

Installed inside the other middleware: the body limit, input checks, security headers and
metrics apply to both answers alike; metrics label a handler's answer with its route's path.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from fieldbridge.kit.middleware import body_kind, read_body, replaying

Answer = tuple[int, bytes]
Handler = Callable[[Mapping[bytes, bytes], bytes], Awaitable[Answer | None]]


class HotPaths:
    """`handlers` by exact path, for POST; `routes` are the app's routes at those paths (for
    metrics, as the router would set them on the scope)."""

    def __init__(self, app: ASGIApp, handlers: Mapping[str, Handler], routes: Mapping[str, Any]) -> None:
        self.app = app
        self.handlers = dict(handlers)
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self.handlers.get(scope["path"]) if scope["type"] == "http" else None
        if handler is None or scope["method"] != "POST" or body_kind(scope) != "json":
            await self.app(scope, receive, send)  # the route refuses a body that is not JSON
            return
        body, gone = await read_body(receive)
        # A header sent twice: the first counts, as it does for the route (Starlette's `get`).
        answer = None if gone else await handler(dict(reversed(scope["headers"])), body)
        if answer is None:
            await self.app(scope, replaying(body, receive), send)
            return
        status, content = answer
        scope["route"] = self.routes.get(scope["path"])
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-length", str(len(content)).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content})
