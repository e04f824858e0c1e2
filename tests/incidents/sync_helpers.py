"""Two-way incident tests: a tenant connected to the sandbox, a safety site linked to a
tracked Procore project, a worker with a name, email and phone, and the ledger drained."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fieldbridge.delivery.models import Delivery
from fieldbridge.delivery.runner import DrainReport, drain
from fieldbridge.inbound.models import InboundEvent
from fieldbridge.incidents.models import IncidentConflict, IncidentRemote
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetyZone, ZoneType
from fieldbridge.sites.models import Project
from tests.delivery.helpers import FAST
from tests.factories import Tenant, bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv

RECORDABLE: dict[str, Any] = {
    "occurred_at": "2026-03-09T09:05:00-06:00",
    "description": "Slipped on the wet stair.",
    "body_part": "left hand",
    "nature": "laceration",
    "treatment": "medical_treatment",
    "days_away": 2,
}


@dataclass
class Linked:
    tenant: Tenant
    connection_id: int
    site_id: int
    zone_id: int
    remote_project_id: str

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.tenant.api_key)


async def link_site(env: ProcoreEnv, tenant: Tenant | None = None) -> Linked:
    tenant = tenant or await create_tenant(env.db, env.settings)
    connection_id, _ = await env.track(tenant, 1)
    async with env.db.transaction() as session:
        project = (
            await session.scalars(
                select(Project).where(Project.connection_id == connection_id, Project.sync_enabled.is_(True))
            )
        ).first()
        assert project is not None
        site = SafetySite(
            company_id=tenant.company.id, project_id=project.id, name="Tower A", time_zone="America/Denver"
        )
        session.add(site)
        await session.flush()
        zone = SafetyZone(
            company_id=tenant.company.id, site_id=site.id, name="East stair", type=ZoneType.hazard
        )
        session.add(zone)
        session.add(
            SafetySiteLink(
                company_id=tenant.company.id,
                site_id=site.id,
                connection_id=connection_id,
                project_id=project.id,
                remote_project_id=project.external_id,
            )
        )
        worker = await session.get(type(tenant.worker), tenant.worker.id)
        assert worker is not None
        worker.email, worker.phone, worker.title, worker.trade = (
            "casey.nguyen@example.com",
            "+1 303 555 0142",
            "Foreman",
            "Carpentry",
        )
        await session.flush()
        return Linked(tenant, connection_id, site.id, zone.id, project.external_id)


async def confirm(env: ProcoreEnv, link: Linked, **fields: Any) -> dict[str, Any]:
    body = {
        "site_id": link.site_id,
        "zone_id": link.zone_id,
        "worker_id": link.tenant.worker.id,
        **RECORDABLE,
    }
    made = await env.client.post("/api/v1/incidents", json={**body, **fields}, headers=link.auth)
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


async def deliver(env: ProcoreEnv, link: Linked) -> DrainReport:
    return await drain(env.db, link.connection_id, http=env.http, settings=env.settings, config=FAST)


async def ledger(env: ProcoreEnv) -> list[Delivery]:
    async with env.db.sessionmaker() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.kind == "procore.safety.incident").order_by(Delivery.id)
        )
        return list(rows.all())


async def remote_of(env: ProcoreEnv, incident_id: int) -> IncidentRemote:
    async with env.db.sessionmaker() as session:
        row = await session.scalar(select(IncidentRemote).where(IncidentRemote.incident_id == incident_id))
        assert row is not None
        return row


async def conflicts(env: ProcoreEnv, incident_id: int) -> list[IncidentConflict]:
    async with env.db.sessionmaker() as session:
        rows = await session.scalars(
            select(IncidentConflict).where(IncidentConflict.incident_id == incident_id)
        )
        return list(rows.all())


async def inbound_events(env: ProcoreEnv) -> list[InboundEvent]:
    async with env.db.sessionmaker() as session:
        return list((await session.scalars(select(InboundEvent).order_by(InboundEvent.id))).all())


async def sandbox_incidents(env: ProcoreEnv) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await env.sandbox.get("/_sandbox/records/incidents")).json()
    return [r for r in rows if "[fieldbridge:incident:" in str(r.get("description"))]


async def sandbox_injuries(env: ProcoreEnv) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = (await env.sandbox.get("/_sandbox/records/injuries")).json()
    return rows
