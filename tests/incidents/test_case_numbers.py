"""OSHA case numbers under concurrent confirmations: no gaps, no duplicates, on both databases."""

import asyncio
from datetime import UTC, date, datetime

import httpx
from sqlalchemy import select

from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.scopes import ALL_SCOPES
from fieldbridge.incidents import service
from fieldbridge.incidents.models import Incident, OshaCaseCounter
from fieldbridge.incidents.schemas import IncidentIn, IncidentPatch
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.incidents.helpers import create_site

CONCURRENT = 20


async def test_twenty_concurrent_confirmations_number_1_to_20(db: Database, settings: Settings) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    principal = Principal(t.company.id, t.company.name, "api_key", 1, "test", ALL_SCOPES)
    drafts: list[int] = []
    async with db.transaction() as session:
        for n in range(CONCURRENT):
            draft = await service.create(
                session,
                principal,
                IncidentIn(site_id=site.id, occurred_on=date(2026, 4, 1 + n % 28), time_unknown=True),
            )
            drafts.append(draft.id)
    assert all(i is not None for i in drafts)

    async def confirm(incident_id: int) -> int | None:
        async with db.transaction() as session:  # each confirmation in its own transaction
            incident = await service.update(
                session, principal, incident_id, IncidentPatch(treatment="medical_treatment")
            )
            return incident.case_number

    numbers = await asyncio.gather(*(confirm(i) for i in drafts))
    assert sorted(n for n in numbers if n is not None) == list(range(1, CONCURRENT + 1))

    async with db.transaction() as session:
        stored = (
            await session.scalars(select(Incident.case_number).where(Incident.site_id == site.id))
        ).all()
        counter = await session.scalar(select(OshaCaseCounter).where(OshaCaseCounter.site_id == site.id))
    assert sorted(n for n in stored if n is not None) == list(range(1, CONCURRENT + 1))
    assert counter is not None
    assert counter.last_number == CONCURRENT


async def test_concurrent_creates_over_the_api_and_a_rolled_back_one_leaves_no_gap(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    body = {
        "site_id": site.id,
        "occurred_at": datetime(2026, 6, 1, 15, tzinfo=UTC).isoformat(),
        "days_away": 2,
    }
    # A unit of work that took number 1 and then failed gives the number back with its rollback.
    principal = Principal(t.company.id, t.company.name, "api_key", 1, "test", ALL_SCOPES)
    try:
        async with db.transaction() as session:
            made = await service.create(session, principal, IncidentIn.model_validate(body))
            assert made.case_number == 1
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    answers = await asyncio.gather(
        *(client.post("/api/v1/incidents", json=body, headers=bearer(t.api_key)) for _ in range(CONCURRENT))
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers if a.status_code != 201]
    assert sorted(a.json()["case_number"] for a in answers) == list(range(1, CONCURRENT + 1))
