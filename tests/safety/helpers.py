"""A company with one project that is a safety site (zones, shifts), built through the public API."""

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.schemas import ApiKeyIn
from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.factories import Tenant, bearer, create_tenant

_seq = itertools.count(1)


@dataclass
class Site:
    tenant: Tenant
    project_id: int
    site_id: int
    zones: dict[str, int]  # name -> id
    shifts: dict[str, int]
    edge_key: str  # an API key with detections:write only

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.tenant.api_key)

    @property
    def edge(self) -> dict[str, str]:
        return bearer(self.edge_key)


async def project(
    db: Database, company_id: int, time_zone: str = "America/New_York", name: str = "Tower"
) -> int:
    n = next(_seq)
    async with db.transaction() as session:
        connection = Connection(company_id=company_id, provider="procore", label=f"Safety {n}", config={})
        session.add(connection)
        await session.flush()
        row = Project(
            company_id=company_id,
            connection_id=connection.id,
            external_id=str(5000 + n),
            name=f"{name} {n}",
            time_zone=time_zone,
            sync_enabled=True,
        )
        session.add(row)
        await session.flush()
        return row.id


async def edge_key(db: Database, company_id: int) -> str:
    async with db.transaction() as session:
        _, token = await accounts_service.create_api_key(
            session, company_id, ApiKeyIn(name="edge box", scopes=["detections:write"])
        )
    return token


async def make_site(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    *,
    time_zone: str = "America/New_York",
    tenant: Tenant | None = None,
    shifts: bool = True,
) -> Site:
    tenant = tenant or await create_tenant(db, settings, "Safe")
    project_id = await project(db, tenant.company.id, time_zone)
    auth = bearer(tenant.api_key)
    r = await client.post(
        "/api/v1/safety/sites", json={"project_id": project_id, "name": "Tower site"}, headers=auth
    )
    assert r.status_code == 201, r.text
    site_id = r.json()["id"]
    zones = {}
    for body in (
        {"name": "Deck", "type": "ppe_required", "required_ppe": ["hard_hat", "hi_vis_vest"]},
        {"name": "Crane swing", "type": "restricted"},
        {"name": "Pit", "type": "hazard"},
    ):
        r = await client.post(f"/api/v1/safety/sites/{site_id}/zones", json=body, headers=auth)
        assert r.status_code == 201, r.text
        zones[body["name"]] = r.json()["id"]
    made = {}
    if shifts:
        for body in (
            {"name": "Day", "start_time": "06:00", "end_time": "14:00"},
            {"name": "Night", "start_time": "22:00", "end_time": "06:00"},
        ):
            r = await client.post(f"/api/v1/safety/sites/{site_id}/shifts", json=body, headers=auth)
            assert r.status_code == 201, r.text
            made[body["name"]] = r.json()["id"]
    return Site(tenant, project_id, site_id, zones, made, await edge_key(db, tenant.company.id))


def event(site: Site, n: int | str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": f"evt-{n}",
        "site_id": site.site_id,
        "zone_id": site.zones["Deck"],
        "type": "ppe_violation",
        "missing_items": ["hard_hat"],
        "priority": 3,
        "source": "camera",
        "source_ref": "cam-1",
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "evidence": [{"kind": "frame", "url": "https://edge.example.com/f/1.jpg", "id": "f-1"}],
    }
    body.update(extra)
    return body
