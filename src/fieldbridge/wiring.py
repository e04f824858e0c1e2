"""What every process installs at start, explicitly: the connectors (delivery, project sync and
the webhook receivers reach providers only through them) and the domains' inbound event
handlers, one line per domain. Entry points call `install(settings)`: `create_app`, `fieldbridge
worker`, `fieldbridge procore sync`, `fieldbridge bench`, the demo's crew, the tests.

Connectors outside the package (FIELDBRIDGE_CONNECTOR_MODULES, see `connectors.registry`) are
installed with the shipped ones, and their `register_inbound(handlers)`, when they have one,
adds their inbound handlers."""

from collections.abc import Sequence
from types import ModuleType

from fieldbridge.connections.connector import Registry, installed_registry
from fieldbridge.connectors.acc import inbound as acc_inbound
from fieldbridge.connectors.registry import build_registry, connector_modules
from fieldbridge.delivery.runner import install_registry
from fieldbridge.inbound.handlers import InboundHandlers, install_handlers
from fieldbridge.incidents import inbound as incidents_inbound
from fieldbridge.kit.urls import install_base_url
from fieldbridge.settings import Settings
from fieldbridge.sites import inbound as sites_inbound


def build_inbound_handlers(
    modules: Sequence[ModuleType] = (), registry: Registry | None = None
) -> InboundHandlers:
    handlers = InboundHandlers()
    sites_inbound.register(handlers)  # projects, cost codes, the records project sync mirrors
    acc_inbound.register(handlers)  # ACC issue status onto the ledger row (until a domain owns it)
    # incidents and their records, for every connector with an incident_pull flow (two-way)
    incidents_inbound.register(handlers, registry or installed_registry())
    for module in modules:
        register = getattr(module, "register_inbound", None)
        if register is not None:
            register(handlers)
    return handlers


def install(settings: Settings | None = None) -> None:
    """Install the shipped connectors, plus the connector modules `settings` names."""
    if settings is not None:
        install_base_url(settings.base_url)  # the links records carry back to FieldBridge
    modules = connector_modules(settings.connector_module_names if settings is not None else ())
    registry = build_registry(modules)
    install_registry(registry)
    install_handlers(build_inbound_handlers(modules, registry))
