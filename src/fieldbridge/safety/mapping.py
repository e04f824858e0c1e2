"""Field mapping: what a FieldBridge value (an event type, a priority 1..5) becomes on the
platform behind a connection (an incident type, a hazard, an observation type, a priority).

Per connection and category, an edited entry (`SafetyFieldMap`) wins; otherwise the
connector's default label (`SafetyFlow.categories`) is looked up among the values that
company offers (`SafetyRemoteValue`, fetched and cached). Domain code calls `resolve()` when
it enqueues a delivery and stores the answer in the payload under "mapped"; a value flagged
`missing` (gone from the platform at the last refresh) is for the handler to refuse plainly
("mapped value missing") rather than fail on.
"""

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.safety.models import SafetyFieldMap, SafetyRemoteValue

# The categories every safety connector is asked about; a connector may declare more.
INCIDENT_TYPE = "incident_type"
HAZARD = "hazard"
OBSERVATION_TYPE = "observation_type"
PRIORITY = "priority"


@dataclass(frozen=True)
class MappedValue:
    remote_value: str
    remote_label: str
    missing: bool  # flagged as gone upstream at the last refresh

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)


def default_label(provider: str, category: str, source_key: str) -> str | None:
    """The connector's default remote label for a source key, None when it declares none."""
    flow = installed_registry().safety(provider)
    if flow is None:
        return None
    for declared in flow.categories:
        if declared.name == category:
            return declared.defaults.get(source_key)
    return None


async def cached_by_label(
    session: AsyncSession, connection_id: int, category: str, label: str
) -> SafetyRemoteValue | None:
    """The cached remote value of a category whose label matches (case and spaces ignored)."""
    rows = await session.scalars(
        select(SafetyRemoteValue)
        .where(
            SafetyRemoteValue.connection_id == connection_id,
            SafetyRemoteValue.category == category,
            func.lower(SafetyRemoteValue.label) == label.strip().lower(),
        )
        .order_by(SafetyRemoteValue.id)
        .limit(1)
    )
    return rows.first()


async def resolve(
    session: AsyncSession, connection_id: int, category: str, source_key: str
) -> MappedValue | None:
    """What `source_key` maps to in `category` for this connection now: the edited entry, else
    the connector's default found among the cached values; None when neither gives one."""
    edited = await session.scalar(
        select(SafetyFieldMap).where(
            SafetyFieldMap.connection_id == connection_id,
            SafetyFieldMap.category == category,
            SafetyFieldMap.source_key == source_key,
        )
    )
    if edited is not None:
        return MappedValue(edited.remote_value, edited.remote_label, edited.missing)
    provider = await session.scalar(select(Connection.provider).where(Connection.id == connection_id))
    label = None if provider is None else default_label(provider, category, source_key)
    if label is None:
        return None
    found = await cached_by_label(session, connection_id, category, label)
    return None if found is None else MappedValue(found.remote_value, found.label, False)
