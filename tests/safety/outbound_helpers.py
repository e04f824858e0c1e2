"""A safety site linked to a Procore project of the sandbox (or to a connection with no
remote side), built with the models: the seam's rows as the mapping helper's pages make them."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.safety import ingest
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetyZone, ZoneType
from fieldbridge.sites.models import Project


@dataclass
class Linked:
    company_id: int
    connection_id: int
    site_id: int
    link_id: int
    project_id: int
    remote_project_id: str
    zones: dict[str, int]
    workers: list[int]


async def linked_site(
    db: Database,
    company_id: int,
    *,
    connection_id: int | None = None,
    remote_project_id: str = "7001",
    time_zone: str = "America/New_York",
    summary_time: time = time(17, 0),
    **link: Any,
) -> Linked:
    async with db.transaction() as session:
        if connection_id is None:
            connection = Connection(
                company_id=company_id,
                provider="procore",
                label="Procore",
                config={},
                status=ConnectionStatus.connected,
            )
            session.add(connection)
            await session.flush()
            connection_id = connection.id
        project = Project(
            company_id=company_id,
            connection_id=connection_id,
            external_id=remote_project_id,
            name=f"Project {remote_project_id}",
            time_zone=time_zone,
            sync_enabled=True,
        )
        session.add(project)
        await session.flush()
        site = SafetySite(company_id=company_id, project_id=project.id, name="Tower", time_zone=time_zone)
        session.add(site)
        await session.flush()
        zones = {}
        for name in ("Deck", "Crane swing"):
            zone = SafetyZone(company_id=company_id, site_id=site.id, name=name, type=ZoneType.restricted)
            session.add(zone)
            await session.flush()
            zones[name] = zone.id
        row = SafetySiteLink(
            company_id=company_id,
            site_id=site.id,
            connection_id=connection_id,
            project_id=project.id,
            remote_project_id=remote_project_id,
            summary_time=summary_time,
            **link,
        )
        session.add(row)
        await session.flush()
        return Linked(company_id, connection_id, site.id, row.id, project.id, remote_project_id, zones, [])


_n = [0]


def detection(
    site: Linked, *, zone: str = "Deck", at: datetime | None = None, worker: int | None = None, **extra: Any
) -> dict[str, Any]:
    _n[0] += 1
    body: dict[str, Any] = {
        "event_id": f"obs-{_n[0]}",
        "site_id": site.site_id,
        "zone_id": site.zones[zone],
        "type": "zone_breach",
        "priority": 3,
        "source": "camera",
        "source_ref": "cam-7",
        "worker_id": worker,
        "occurred_at": (at or datetime.now(UTC) - timedelta(minutes=30)).isoformat(),
        "evidence": [{"kind": "frame", "url": "https://edge.example.com/f/9.jpg"}],
    }
    body.update(extra)
    return body


async def ingest_rows(db: Database, company_id: int, rows: list[dict[str, Any]]) -> None:
    async with db.transaction() as session:
        outcome = await ingest.ingest_detections(session, company_id, rows)
        assert outcome.errors == 0, outcome.results


async def deliveries(db: Database, kind: str = "procore.safety.observation") -> list[Delivery]:
    async with db.sessionmaker() as session:
        return list(
            (await session.scalars(select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id))).all()
        )
