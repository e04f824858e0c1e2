"""Projects in several time zones for local-time job tests; a connection's sync job."""

from typing import Any

from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.sites.models import Project
from fieldbridge.sites.tasks import SYNC_JOB_KEY

ZONES = ("America/New_York", "America/Los_Angeles", "Europe/Berlin")


async def projects_in_zones(db: Database, company_id: int, zones: tuple[str, ...] = ZONES) -> dict[int, str]:
    """One tracked project per zone; returns {project id: zone}."""
    async with db.transaction() as session:
        connection = Connection(company_id=company_id, provider="procore", label="Jobs Procore", config={})
        session.add(connection)
        await session.flush()
        projects = [
            Project(
                company_id=company_id,
                connection_id=connection.id,
                external_id=str(900 + n),
                name=f"Job in {zone}",
                time_zone=zone,
                sync_enabled=True,
            )
            for n, zone in enumerate(zones)
        ]
        session.add_all(projects)
        await session.flush()
        return {p.id: p.time_zone or "" for p in projects}


async def sync_job_of(db: Database, connection_id: int) -> dict[str, Any]:
    """The connection's stored "sync now" job (fresh from the database)."""
    async with db.sessionmaker() as session:
        connection = await session.get(Connection, connection_id, populate_existing=True)
        assert connection is not None
        job: dict[str, Any] = connection.config.get(SYNC_JOB_KEY, {})
        return job
