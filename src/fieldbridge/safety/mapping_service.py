"""Editing and checking a connection's field mapping: the values the platform offers (fetched
through the connector's `SafetyFlow.values`, cached with `fetched_at`, replaced per category on
every refresh), edited entries validated against them, and the flag on an edited value that
disappeared upstream (`SafetyFieldMap.missing`), raised at refresh, before a delivery fails.

`fetch_values` talks to the platform and must run while the caller holds no write;
`store_values` and `save_entries` write with the caller's session and never commit."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import ConnectorError, RemoteValue, SafetyFlow
from fieldbridge.connections.models import Connection
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.errors import FieldBridgeError, Unprocessable
from fieldbridge.safety.link_schemas import (
    MappingCategory,
    MappingEntry,
    MappingOut,
    MappingRow,
    RemoteValueOut,
)
from fieldbridge.safety.link_service import Platform, platform_name, safety_flow
from fieldbridge.safety.mapping import HAZARD, INCIDENT_TYPE, OBSERVATION_TYPE, PRIORITY
from fieldbridge.safety.models import DetectionType, SafetyFieldMap, SafetyRemoteValue

EVENT_LABELS = {
    DetectionType.ppe_violation: "PPE not worn",
    DetectionType.zone_breach: "Zone breach",
    DetectionType.fall: "Fall",
    DetectionType.proximity: "Proximity (people and equipment)",
    DetectionType.near_miss: "Near miss",
    DetectionType.self_report: "Injury reported at clock-out",
    DetectionType.custom: "Other",
}
PRIORITY_LABELS = {"1": "1 (lowest)", "2": "2", "3": "3", "4": "4", "5": "5 (highest)"}
# The source keys of the categories every safety connector is asked about: event types, priorities.
SOURCES: dict[str, dict[str, str]] = {
    INCIDENT_TYPE: {k.value: v for k, v in EVENT_LABELS.items()},
    HAZARD: {k.value: v for k, v in EVENT_LABELS.items()},
    OBSERVATION_TYPE: {k.value: v for k, v in EVENT_LABELS.items()},
    PRIORITY: PRIORITY_LABELS,
}


class PlatformUnavailable(FieldBridgeError):
    status_code = 502
    code = "platform_unavailable"


def flow_of(connection: Connection) -> SafetyFlow:
    flow = safety_flow(connection.provider)
    if flow is None:
        raise Unprocessable(
            f"A {platform_name(connection.provider)} connection carries no safety records, "
            "so it has no safety mapping.",
            code="no_safety_mapping",
        )
    return flow


def sources_of(flow: SafetyFlow, category: str) -> dict[str, str]:
    """Source key -> label of a category: the standard keys, or a connector category's own."""
    if category in SOURCES:
        return SOURCES[category]
    declared = next((c for c in flow.categories if c.name == category), None)
    return {k: k.replace("_", " ") for k in (declared.defaults if declared else {})}


async def fetch_values(platform: Platform, connection: Connection) -> dict[str, list[RemoteValue]]:
    """Every category's values as the platform has them now (no write of ours)."""
    flow = flow_of(connection)
    try:
        db, http, box = platform.db, platform.http, platform.box
        return {c.name: await flow.values(db, http, box, connection, c.name) for c in flow.categories}
    except ConnectorError as exc:
        raise PlatformUnavailable(
            f"{platform_name(connection.provider)} did not give its value lists ({exc}); "
            "nothing changed. Try again shortly."
        ) from exc


async def store_values(
    session: AsyncSession, connection: Connection, fetched: dict[str, list[RemoteValue]]
) -> int:
    """Replace the cached values per category and flag edited entries whose value is gone (or
    clear the flag when it is back, relabelled if renamed). Returns how many are flagged."""
    now = utcnow()
    for category, values in fetched.items():
        await session.execute(
            delete(SafetyRemoteValue).where(
                SafetyRemoteValue.connection_id == connection.id, SafetyRemoteValue.category == category
            )
        )
        unique = {v.id: v for v in values}
        session.add_all(
            SafetyRemoteValue(
                company_id=connection.company_id,
                connection_id=connection.id,
                category=category,
                remote_value=v.id,
                label=v.label[:200],
                fetched_at=now,
            )
            for v in unique.values()
        )
        edited = await session.scalars(
            select(SafetyFieldMap).where(
                SafetyFieldMap.connection_id == connection.id, SafetyFieldMap.category == category
            )
        )
        for row in edited:
            value = unique.get(row.remote_value)
            row.missing = value is None
            if value is not None:
                row.remote_label = value.label[:200]
            row.checked_at = now
    await session.flush()
    flagged = await session.scalar(
        select(func.count())
        .select_from(SafetyFieldMap)
        .where(SafetyFieldMap.connection_id == connection.id, SafetyFieldMap.missing.is_(True))
    )
    return int(flagged or 0)


async def _cached(session: AsyncSession, connection_id: int) -> dict[str, list[SafetyRemoteValue]]:
    rows = await session.scalars(
        select(SafetyRemoteValue)
        .where(SafetyRemoteValue.connection_id == connection_id)
        .order_by(SafetyRemoteValue.category, SafetyRemoteValue.label)
    )
    out: dict[str, list[SafetyRemoteValue]] = {}
    for row in rows:
        out.setdefault(row.category, []).append(row)
    return out


async def _edited(session: AsyncSession, connection_id: int) -> dict[tuple[str, str], SafetyFieldMap]:
    rows = await session.scalars(select(SafetyFieldMap).where(SafetyFieldMap.connection_id == connection_id))
    return {(r.category, r.source_key): r for r in rows}


def _row(
    key: str,
    label: str,
    default: str | None,
    edited: SafetyFieldMap | None,
    by_label: dict[str, SafetyRemoteValue],
    fetched: bool,
) -> MappingRow:
    """`fetched`: the category's values were fetched and it has some (a platform that offers
    none for a category has no such field there: nothing is sent, and nothing is to pick)."""
    if edited is not None:
        problem = (
            f"{edited.remote_label!r} no longer exists in the platform; pick another value."
            if edited.missing
            else None
        )
        return MappingRow(
            source_key=key,
            source_label=label,
            default_label=default,
            remote_value=edited.remote_value,
            remote_label=edited.remote_label,
            origin="edited",
            missing=edited.missing,
            problem=problem,
        )
    found = by_label.get(default.strip().lower()) if default else None
    problem = None
    if default and found is None and fetched:
        problem = f"The default {default!r} is not offered by this company; pick a value."
    return MappingRow(
        source_key=key,
        source_label=label,
        default_label=default,
        remote_value=found.remote_value if found else None,
        remote_label=found.label if found else None,
        origin="default" if found else "none",
        missing=False,
        problem=problem,
    )


async def mapping_view(session: AsyncSession, connection: Connection) -> MappingOut:
    """The connection's mapping as it resolves now, per category, with the values to pick from."""
    flow = flow_of(connection)
    cached, edited = await _cached(session, connection.id), await _edited(session, connection.id)
    # Every category is fetched at once: one that came back empty was fetched with the others.
    last_fetch = max((v.fetched_at for values in cached.values() for v in values), default=None)
    categories = []
    for declared in flow.categories:
        values = cached.get(declared.name, [])
        by_label = {v.label.strip().lower(): v for v in values}
        fetched_at: datetime | None = max((v.fetched_at for v in values), default=last_fetch)
        rows = [
            _row(
                key,
                label,
                declared.defaults.get(key),
                edited.get((declared.name, key)),
                by_label,
                fetched_at is not None and bool(values),
            )
            for key, label in sources_of(flow, declared.name).items()
        ]
        categories.append(
            MappingCategory(
                name=declared.name,
                label=declared.label,
                fetched_at=fetched_at,
                values=[RemoteValueOut(id=v.remote_value, label=v.label) for v in values],
                rows=rows,
            )
        )
    missing = sum(r.missing for c in categories for r in c.rows)
    return MappingOut(
        connection_id=connection.id, provider=connection.provider, categories=categories, missing=missing
    )


def _invalid(index: int, field: str, problem: str) -> Unprocessable:
    where = f"entries[{index}].{field}"
    return Unprocessable(f"{where}: {problem}", details=[{"field": where, "problem": problem}])


async def save_entries(
    session: AsyncSession, connection: Connection, entries: Sequence[MappingEntry]
) -> None:
    """Edit entries; each value must be one the platform offered at the last refresh. An empty
    value goes back to the default. All or nothing: the first bad entry is a 422."""
    flow = flow_of(connection)
    declared = {c.name for c in flow.categories}
    cached, edited = await _cached(session, connection.id), await _edited(session, connection.id)
    for i, entry in enumerate(entries):
        if entry.category not in declared:
            raise _invalid(i, "category", f"use one of {', '.join(sorted(declared))}")
        if entry.source_key not in sources_of(flow, entry.category):
            keys = ", ".join(sources_of(flow, entry.category))
            raise _invalid(i, "source_key", f"{entry.category} maps these keys: {keys}")
        current = edited.get((entry.category, entry.source_key))
        if not entry.remote_value:
            if current is not None:
                await session.delete(current)
                del edited[(entry.category, entry.source_key)]
            continue
        offered = {v.remote_value: v for v in cached.get(entry.category, [])}
        if not offered:
            raise _invalid(
                i, "remote_value", "no values fetched for this category yet; refresh the values first"
            )
        value = offered.get(entry.remote_value)
        if value is None:
            raise _invalid(
                i,
                "remote_value",
                f"{entry.remote_value!r} is not among the {entry.category} values of this company",
            )
        if current is None:
            current = SafetyFieldMap(
                company_id=connection.company_id,
                connection_id=connection.id,
                category=entry.category,
                source_key=entry.source_key,
            )
            session.add(current)
            edited[(entry.category, entry.source_key)] = current
        current.remote_value, current.remote_label = value.remote_value, value.label
        current.missing, current.checked_at = False, value.fetched_at
    await session.flush()


async def values_due(session: AsyncSession, connection_id: int, older_than: datetime) -> bool:
    """Whether the cached values were never fetched or are older than `older_than`."""
    last = await session.scalar(
        select(func.min(SafetyRemoteValue.fetched_at)).where(SafetyRemoteValue.connection_id == connection_id)
    )
    return last is None or last < older_than
