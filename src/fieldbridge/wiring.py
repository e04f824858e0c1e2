"""What every process installs at start, explicitly: the connectors (delivery, project sync and
the webhook receivers reach providers only through them) and the domains' inbound event
handlers, one line per domain. Entry points call `install()`: `create_app`, `fieldbridge
worker`, `fieldbridge procore sync`, `fieldbridge bench`, the demo's crew, the tests."""

from fieldbridge.connectors.registry import build_registry
from fieldbridge.delivery.runner import install_registry
from fieldbridge.inbound.handlers import InboundHandlers, install_handlers
from fieldbridge.sites import inbound as sites_inbound


def build_inbound_handlers() -> InboundHandlers:
    handlers = InboundHandlers()
    sites_inbound.register(handlers)  # projects, cost codes, the records project sync mirrors
    return handlers


def install() -> None:
    install_registry(build_registry())
    install_handlers(build_inbound_handlers())
