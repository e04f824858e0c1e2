"""The safety seam: `links.targets()` picks a site's enabled links whose connection is usable
and whose connector has the capability; `mapping.resolve()` gives an edited entry, else the
connector's default found among the cached remote values."""

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from fieldbridge.connections.connector import (
    Capability,
    ConnectorSpec,
    MapCategory,
    RemoteValue,
    install_registry,
    installed_registry,
)
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connectors.registry import build_registry
from fieldbridge.kit.db import Database
from fieldbridge.safety import links, mapping
from fieldbridge.safety.models import SafetyFieldMap, SafetyRemoteValue, SafetySite, SafetySiteLink
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.factories import create_tenant


class SeamFlow:
    """A safety flow of a test connector: fixed categories, no remote side."""

    categories = (
        MapCategory("observation_type", "Observation type", {"ppe_violation": "Safety"}),
        MapCategory("priority", "Priority", {"3": "Medium"}),
    )

    async def values(self, db: Any, http: Any, box: Any, connection: Any, category: str) -> list[RemoteValue]:
        return []

    async def project_tools(
        self, db: Any, http: Any, box: Any, connection: Any, remote_project_id: str
    ) -> dict[str, str | None]:
        return {"incidents": None, "observations": "tool not enabled", "daily_log": None}

    def record_url(
        self, kind: str, remote_project_id: str, remote_id: str, config: Mapping[str, Any]
    ) -> str | None:
        return f"https://seam.example.com/{remote_project_id}/{kind}/{remote_id}"


async def _no_client(*args: Any) -> Any:
    raise AssertionError("not opened in these tests")


@pytest.fixture
def seam_registry() -> Iterator[None]:
    shipped = installed_registry()
    registry = build_registry()
    registry.register(
        ConnectorSpec(
            "seam",
            frozenset({Capability.incidents, Capability.observations}),
            _no_client,  # type: ignore[arg-type]
            safety=SeamFlow(),
        )
    )
    install_registry(registry)
    try:
        yield
    finally:
        install_registry(shipped)


async def _site_with_links(db: Database, company_id: int) -> tuple[int, dict[str, int]]:
    """A site linked through five connections: seam (connected), seam (disconnected), seam
    (connected, link disabled), seam (waiting for a reconnect: rows park), procore (connected;
    incidents, observations and daily log)."""
    async with db.transaction() as session:
        made: dict[str, Connection] = {}
        for name, provider, status in (
            ("on", "seam", ConnectionStatus.connected),
            ("gone", "seam", ConnectionStatus.disconnected),
            ("off", "seam", ConnectionStatus.connected),
            ("parked", "seam", ConnectionStatus.needs_reconnect),
            ("procore", "procore", ConnectionStatus.connected),
        ):
            made[name] = Connection(
                company_id=company_id, provider=provider, label=name, status=status, external_account_id=name
            )
            session.add(made[name])
        await session.flush()
        projects = {}
        for name, connection in made.items():
            projects[name] = Project(
                company_id=company_id,
                connection_id=connection.id,
                external_id=f"77{connection.id}",
                name=name,
            )
            session.add(projects[name])
        await session.flush()
        site = SafetySite(
            company_id=company_id, project_id=projects["on"].id, name="Tower", time_zone="America/Chicago"
        )
        session.add(site)
        await session.flush()
        for name, connection in made.items():
            session.add(
                SafetySiteLink(
                    company_id=company_id,
                    site_id=site.id,
                    connection_id=connection.id,
                    project_id=projects[name].id,
                    remote_project_id=projects[name].external_id,
                    enabled=name != "off",
                )
            )
        return site.id, {name: c.id for name, c in made.items()}


@pytest.mark.usefixtures("seam_registry")
async def test_targets_are_enabled_usable_links_with_the_capability(db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    other = await create_tenant(db, settings, "Other")
    site_id, connections = await _site_with_links(db, tenant.company.id)
    async with db.transaction() as session:
        found = await links.targets(session, tenant.company.id, site_id, Capability.incidents)
        # Procore delivers incidents (connectors/procore/incidents.py): its link counts too.
        expected = [connections["on"], connections["parked"], connections["procore"]]
        assert [t.connection_id for t in found] == expected
        target = found[0]
        assert (target.provider, target.observation_threshold, target.push_all) == ("seam", 3, False)
        assert (target.fold_window_s, target.summary_time.hour, target.summary_route) == (900, 17, "native")
        assert target.remote_project_id == f"77{connections['on']}"
        assert links.kind_for(target, "incident") == "seam.safety.incident"
        # Only Procore offers daily_log here; another company sees nothing of this site.
        daily = await links.targets(session, tenant.company.id, site_id, Capability.daily_log)
        assert [t.connection_id for t in daily] == [connections["procore"]]
        assert await links.targets(session, other.company.id, site_id, Capability.incidents) == []


@pytest.mark.usefixtures("seam_registry")
async def test_resolve_prefers_the_edited_entry_then_the_default_among_cached_values(
    db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    _, connections = await _site_with_links(db, tenant.company.id)
    on = connections["on"]
    async with db.transaction() as session:
        # Nothing fetched yet: the default label names no known value.
        assert await mapping.resolve(session, on, "observation_type", "ppe_violation") is None
        session.add(
            SafetyRemoteValue(
                company_id=tenant.company.id,
                connection_id=on,
                category="observation_type",
                remote_value="41",
                label="safety",
            )
        )
        await session.flush()
        default = await mapping.resolve(session, on, "observation_type", "ppe_violation")
        assert default == mapping.MappedValue("41", "safety", False)
        assert await mapping.resolve(session, on, "observation_type", "fall") is None
        session.add(
            SafetyFieldMap(
                company_id=tenant.company.id,
                connection_id=on,
                category="observation_type",
                source_key="ppe_violation",
                remote_value="99",
                remote_label="Housekeeping",
                missing=True,
            )
        )
        await session.flush()
        edited = await mapping.resolve(session, on, "observation_type", "ppe_violation")
        assert edited == mapping.MappedValue("99", "Housekeeping", True)
        assert edited.as_payload() == {"remote_value": "99", "remote_label": "Housekeeping", "missing": True}
