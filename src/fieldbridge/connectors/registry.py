"""Every connector FieldBridge ships, one line per provider, and the platforms still to
come. Entry points (the app, the worker, the benchmarks) build this once and hand it to
delivery (`delivery.runner.install_registry`); delivery never imports a provider.

A connector that lives outside this package (an extension, or a test connector) is a module
named in FIELDBRIDGE_CONNECTOR_MODULES: it exposes `spec()` and may expose
`register_inbound(handlers)` (its inbound event handlers); importing it registers its
local-time jobs. `connector_modules` imports them; `build_registry(modules)` registers them
after the shipped ones.
"""

import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType

from fieldbridge.connections.connector import Planned, Registry
from fieldbridge.connectors.acc import connector as acc
from fieldbridge.connectors.procore import connector as procore
from fieldbridge.connectors.webhooks import connector as webhooks

PLANNED = (
    Planned("trimble", "Trimble Connect", "Signed JSON webhooks for detections and summaries."),
    Planned("fieldwire", "Fieldwire", "Signed JSON webhooks for detections and summaries."),
)


class ConnectorModuleError(ValueError):
    """FIELDBRIDGE_CONNECTOR_MODULES names a module that cannot serve as a connector."""


def connector_modules(names: Iterable[str]) -> list[ModuleType]:
    """Import the connector modules `names` lists (FIELDBRIDGE_CONNECTOR_MODULES); each must
    expose `spec()`. Raises `ConnectorModuleError` naming the setting when one cannot be used."""
    modules = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise ConnectorModuleError(
                f"FIELDBRIDGE_CONNECTOR_MODULES names {name!r}, which cannot be imported ({exc})."
            ) from exc
        if not callable(getattr(module, "spec", None)):
            raise ConnectorModuleError(
                f"FIELDBRIDGE_CONNECTOR_MODULES names {name!r}, which has no spec() (its ConnectorSpec)."
            )
        modules.append(module)
    return modules


def build_registry(modules: Sequence[ModuleType] = ()) -> Registry:
    registry = Registry(planned=PLANNED)
    registry.register(procore.spec())
    registry.register(webhooks.spec())
    registry.register(acc.spec())
    for module in modules:  # connectors outside this package (FIELDBRIDGE_CONNECTOR_MODULES)
        registry.register(module.spec())
    return registry
