"""The dispatch registry: the domains' handlers by (provider, resource), built explicitly and
installed once at start (`fieldbridge.wiring.install`), the way delivery handlers are.

A handler is `async def handler(ctx: InboundContext, event: InboundEvent) -> str | Ignored`:
it acts on one recorded event in transactions of its own (`ctx.db`) and says what it did, or
returns `Ignored(reason)` when there was nothing to do. Raising `ConnectorError` marks the event
failed with its message; the dispatcher has already ruled out echoes of FieldBridge's writes.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fieldbridge.connections.connector import Registry
from fieldbridge.connections.models import Connection
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients


@dataclass(frozen=True)
class InboundContext:
    """What a handler may use: the database, outbound clients, the secret box (connection
    credentials), the connection (detached) and the installed connectors (`registry.spec(
    connection.provider)` for the connector's flows)."""

    db: Database
    http: HttpClients
    box: SecretBox
    connection: Connection
    registry: Registry


@dataclass(frozen=True)
class Ignored:
    reason: str


InboundHandler = Callable[[InboundContext, InboundEvent], Awaitable["str | Ignored"]]
Key = tuple[str, str]  # (provider, resource), e.g. ("procore", "Projects")


@dataclass
class InboundHandlers:
    by_key: dict[Key, InboundHandler] = field(default_factory=dict)

    def register(self, key: Key, handler: InboundHandler) -> None:
        if key in self.by_key:
            raise ValueError(f"inbound {key[0]} {key[1]!r} has two handlers")
        self.by_key[key] = handler

    def handler(self, provider: str, resource: str) -> InboundHandler | None:
        return self.by_key.get((provider, resource))


_INSTALLED: InboundHandlers | None = None


def install_handlers(handlers: InboundHandlers) -> None:
    global _INSTALLED
    _INSTALLED = handlers


def installed_handlers() -> InboundHandlers:
    if _INSTALLED is None:
        raise RuntimeError(
            "No inbound handlers are installed: call fieldbridge.wiring.install() when the process starts."
        )
    return _INSTALLED
