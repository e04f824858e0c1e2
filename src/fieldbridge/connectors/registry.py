"""Every connector FieldBridge ships, one line per provider, and the platforms still to
come. Entry points (the app, the worker, the benchmarks) build this once and hand it to
delivery (`delivery.runner.install_registry`); delivery never imports a provider."""

from fieldbridge.connectors.base import Planned, Registry
from fieldbridge.connectors.procore import connector as procore
from fieldbridge.connectors.webhooks import connector as webhooks

PLANNED = (
    Planned("acc", "Autodesk Construction Cloud", "Safety issues and daily summaries."),
    Planned("trimble", "Trimble Connect", "Signed JSON webhooks for detections and summaries."),
    Planned("fieldwire", "Fieldwire", "Signed JSON webhooks for detections and summaries."),
)


def build_registry() -> Registry:
    registry = Registry(planned=PLANNED)
    registry.register(procore.spec())
    registry.register(webhooks.spec())
    return registry
