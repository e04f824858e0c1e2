"""Job entry points of the incidents domain: the reconcile pass of two-way incident sync."""

from fieldbridge.connections.connector import installed_registry
from fieldbridge.incidents import inbound
from fieldbridge.jobs.registry import every
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.settings import Settings

log = get_logger("fieldbridge.incidents.tasks")


@every("incidents.reconcile", seconds=300, cron="*/5 * * * *")
async def reconcile(db: Database, http: HttpClients, settings: Settings) -> None:
    """Every five minutes: incidents changed on the platforms since the last pass, applied as a
    webhook would have (covers webhooks that never arrived)."""
    counts = await inbound.reconcile(db, http, SecretBox(settings.secret), installed_registry())
    if counts["read"]:
        log.info("incidents.reconciled", **counts)
