"""Which remote projects a safety site's records go to: the seam between the safety and
incidents domains and the connectors (docs/architecture.md, "Safety to connectors").

A site has at most one link per connection (`SafetySiteLink`). Domain code asks `targets()`
for the enabled links whose connection is usable and whose connector offers a capability,
and enqueues one ledger row per target of the kind `kind_for(target, what)`; the connector's
handler of that kind decides how it reaches the platform. No provider is named here.
"""

from dataclasses import dataclass
from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Capability, installed_registry
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.safety.models import SafetySiteLink

# A connection that needs a reconnect still takes rows: they park and go out after it.
USABLE = (ConnectionStatus.connected, ConnectionStatus.needs_reconnect)


@dataclass(frozen=True)
class LinkTarget:
    link_id: int
    site_id: int
    connection_id: int
    provider: str  # the connection's provider ("procore", "acc")
    remote_project_id: str
    observation_threshold: int
    push_all: bool
    fold_window_s: int
    summary_time: time
    summary_enabled: bool
    summary_route: str


def target_of(link: SafetySiteLink, provider: str) -> LinkTarget:
    return LinkTarget(
        link_id=link.id,
        site_id=link.site_id,
        connection_id=link.connection_id,
        provider=provider,
        remote_project_id=link.remote_project_id,
        observation_threshold=link.observation_threshold,
        push_all=link.push_all,
        fold_window_s=link.fold_window_s,
        summary_time=link.summary_time,
        summary_enabled=link.summary_enabled,
        summary_route=link.summary_route,
    )


async def targets(
    session: AsyncSession, company_id: int, site_id: int, capability: Capability
) -> list[LinkTarget]:
    """The site's enabled links whose connection is usable (connected, or waiting for a
    reconnect) and whose connector has `capability`, oldest link first."""
    rows = await session.execute(
        select(SafetySiteLink, Connection.provider)
        .join(Connection, Connection.id == SafetySiteLink.connection_id)
        .where(
            SafetySiteLink.company_id == company_id,
            SafetySiteLink.site_id == site_id,
            SafetySiteLink.enabled.is_(True),
            Connection.company_id == company_id,
            Connection.status.in_(USABLE),
        )
        .order_by(SafetySiteLink.id)
    )
    registry = installed_registry()
    return [target_of(link, provider) for link, provider in rows if registry.can(provider, capability)]


def kind_for(target: LinkTarget, what: str) -> str:
    """The ledger kind of `what` ("incident", "observation", "daily_summary") for a target."""
    return f"{target.provider}.safety.{what}"
