"""Safety sites to record incidents at (rows made directly: a project, its site, a zone)."""

from dataclasses import dataclass

from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.safety.models import SafetySite, SafetyZone, ZoneType
from fieldbridge.sites.models import Project


@dataclass(frozen=True)
class Site:
    id: int
    zone_id: int
    project_id: int


async def create_site(
    db: Database,
    company_id: int,
    name: str = "Tower A",
    time_zone: str = "America/Denver",
    complete: bool = True,
) -> Site:
    async with db.transaction() as session:
        connection = Connection(company_id=company_id, provider="procore", label=f"{name} Procore", config={})
        session.add(connection)
        await session.flush()
        project = Project(
            company_id=company_id,
            connection_id=connection.id,
            external_id=str(5000 + connection.id),
            name=name,
        )
        session.add(project)
        await session.flush()
        establishment = (
            {
                "establishment_name": f"{name} establishment",
                "ein": "123456789",
                "street_address": "100 Main St",
                "city": "Denver",
                "state": "CO",
                "zip": "80202",
                "naics_code": "236220",
                "industry_description": "Commercial building construction",
                "establishment_type": 1,
                "annual_average_employees": 45,
                "total_hours_worked": 90000,
            }
            if complete
            else {}
        )
        site = SafetySite(
            company_id=company_id, project_id=project.id, name=name, time_zone=time_zone, **establishment
        )
        session.add(site)
        await session.flush()
        zone = SafetyZone(company_id=company_id, site_id=site.id, name="East stair", type=ZoneType.hazard)
        session.add(zone)
        await session.flush()
        return Site(site.id, zone.id, project.id)
