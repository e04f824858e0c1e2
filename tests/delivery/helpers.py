"""Shared steps of the ledger tests: a connected tenant, sandbox facts, enqueue, drain."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from fieldbridge.delivery import service
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.models import Delivery, DeliveryAttempt
from fieldbridge.delivery.runner import DrainReport, drain
from fieldbridge.kit.clock import utcnow
from tests.factories import Tenant, create_tenant
from tests.procore_fixtures import ProcoreEnv

FAST = DeliveryConfig(lease_seconds=30, drain_seconds=20)
DAY = "2026-11-25"
CREATE = "procore.timecard.create"
UPDATE = "procore.timecard.update"


@dataclass
class Linked:
    tenant: Tenant
    connection_id: int
    projects: list[int]  # active, permitted, hours-mode projects with the timecard tool
    inactive_project: int
    people: list[int]


async def linked(env: ProcoreEnv) -> Linked:
    tenant = await create_tenant(env.db, env.settings)
    connection_id = await env.connect(tenant)
    apps = (await env.sandbox.get("/_sandbox/apps")).json()
    permitted = next(a for a in apps if a["client_id"] == "fieldbridge-demo-client")["installs"][0]
    allowed = permitted["permitted_project_ids"]
    projects = (await env.sandbox.get("/_sandbox/records/projects")).json()
    usable = [p["id"] for p in projects if p["active"] and (allowed is None or p["id"] in allowed)]
    inactive = next(p["id"] for p in projects if not p["active"] and (allowed is None or p["id"] in allowed))
    people = [p["id"] for p in (await env.sandbox.get("/_sandbox/records/people")).json()]
    return Linked(tenant, connection_id, usable, inactive, people)


def shift(project_id: int, party_id: int, hours: str = "8", day: str = DAY) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "party_id": party_id,
        "date": day,
        "hours": hours,
        "time_in": f"{day}T07:00:00Z",
        "time_out": f"{day}T{7 + int(float(hours)):02d}:00:00Z",
        "description": "FieldBridge test shift",
    }


async def enqueue(
    env: ProcoreEnv,
    link: Linked,
    payload: dict[str, Any],
    *,
    subject: str,
    kind: str = CREATE,
    holds: Sequence[service.Hold] = (),
) -> int:
    async with env.db.transaction() as session:
        row = await service.enqueue(
            session,
            company_id=link.tenant.company.id,
            connection_id=link.connection_id,
            kind=kind,
            subject=subject,
            payload=payload,
            remote_project_id=str(payload["project_id"]),
            holds=holds,
        )
        return row.id


async def run(env: ProcoreEnv, link: Linked, config: DeliveryConfig = FAST) -> DrainReport:
    return await drain(env.db, link.connection_id, http=env.http, settings=env.settings, config=config)


async def make_due(env: ProcoreEnv) -> None:
    """Skip the backoff wait (tests assert what happens, not when)."""
    async with env.db.transaction() as session:
        await session.execute(
            update(Delivery)
            .where(Delivery.status == "retrying")
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


async def rows(env: ProcoreEnv) -> list[Delivery]:
    async with env.db.sessionmaker() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def attempts(env: ProcoreEnv) -> list[DeliveryAttempt]:
    async with env.db.sessionmaker() as session:
        return list((await session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))).all())


async def remote_entries(env: ProcoreEnv) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await env.sandbox.get("/_sandbox/records/timecard_entries")).json()
    return [e for e in entries if str(e.get("origin_data") or "").startswith("fieldbridge:")]


async def faults(env: ProcoreEnv, **values: Any) -> None:
    response = await env.sandbox.put("/_sandbox/faults", json=values)
    assert response.status_code == 200, response.text
