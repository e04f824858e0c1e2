"""A company connected to the sandbox with one synced Procore project, its milestones (budget
lines with a labor category), a crew of three mapped to Procore people, and phone sign-ins.

Sites rows are written straight from the sandbox's data, so these tests depend on the
`sites` tables but not on the project-sync code. They must say what Procore says (the first
milestone's cost code is billed to the sub job it sits under): a live server's scheduler re-syncs
the project from the sandbox at start-up, and a row that disagreed was rewritten mid-test.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.schemas import WorkerIn
from fieldbridge.delivery.config import DeliveryConfig
from fieldbridge.delivery.runner import DrainReport, drain
from fieldbridge.kit.db import Database
from fieldbridge.sites.models import Milestone, ProcorePerson, Project, SubJob
from fieldbridge.timekeeping.models import TimePolicy
from tests.factories import Tenant, bearer, create_tenant
from tests.procore_fixtures import ProcoreEnv

API = "/api/v1/time"
FAST = DeliveryConfig(lease_seconds=30, drain_seconds=20, claim_limit=200)
SHIFT_START = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 08:00 in New York


@dataclass
class Crew:
    tenant: Tenant
    connection_id: int
    project_id: int  # FieldBridge project (synced)
    procore_project_id: int
    milestones: list[int]  # FieldBridge milestone ids
    codes: dict[int, tuple[int, int, int | None]]  # milestone -> (cost code, category, procore sub job)
    workers: list[int]  # foreman first
    pins: list[str]
    parties: dict[int, int]  # worker -> Procore person id
    unsynced_milestone: int
    tokens: dict[int, str] = field(default_factory=dict)  # worker -> device token

    def auth(self, worker_id: int | None = None) -> dict[str, str]:
        return bearer(self.tokens[worker_id or self.workers[0]])


def new_id() -> str:
    return uuid.uuid4().hex


def clock_in_body(
    crew: Crew, worker_ids: list[int], milestone: int | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "milestone_id": milestone or crew.milestones[0],
        "started_at": extra.pop("started_at", SHIFT_START.isoformat()),
        "members": [{"worker_id": w, "shift_id": new_id()} for w in worker_ids],
        **extra,
    }


def clock_out_body(shift_ids: list[str], hours: float = 8.5, **extra: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "shift_ids": shift_ids,
        "ended_at": (SHIFT_START + timedelta(hours=hours)).isoformat(),
        "break_minutes": extra.pop("break_minutes", 30),
        "injured": extra.pop("injured", False),
        **extra,
    }


async def _sandbox_codes(
    env: ProcoreEnv, connection_id: int, project: int
) -> list[tuple[dict[str, Any], int]]:
    async with env.procore_client(connection_id) as procore:
        codes = await procore.get_all("/rest/v1.0/cost_codes", {"project_id": project})
    labor = []
    for code in codes:
        lits = [t for t in code.get("line_item_types") or [] if t.get("base_type") == "labor"]
        if lits and code.get("parent") is not None:
            labor.append((code, int(lits[0]["id"])))
    return labor


async def _add(db: Database, rows: list[Any]) -> None:
    async with db.transaction() as session:
        session.add_all(rows)


async def crew_env(env: ProcoreEnv, *, map_people: bool = True, project_number: str = "RMO-1001") -> Crew:
    db, settings = env.db, env.settings
    tenant = await create_tenant(db, settings, "Crew")
    connection_id = await env.connect(tenant)
    sandbox_projects = (await env.sandbox.get("/_sandbox/records/projects")).json()
    sub_jobs = (await env.sandbox.get("/_sandbox/records/sub_jobs")).json()
    people = [p for p in (await env.sandbox.get("/_sandbox/records/people")).json() if p["is_employee"]]
    first = next(p for p in sandbox_projects if p["project_number"] == project_number)
    other = next(p for p in sandbox_projects if p["id"] != first["id"])
    sub: dict[str, Any] | None = next((s for s in sub_jobs if s["project_id"] == first["id"]), None)
    company_id = tenant.company.id
    async with db.transaction() as session:
        synced = Project(
            company_id=company_id,
            connection_id=connection_id,
            external_id=str(first["id"]),
            name=first["name"],
            sync_enabled=True,
            active=True,
        )
        unsynced = Project(
            company_id=company_id,
            connection_id=connection_id,
            external_id=str(other["id"]),
            name=other["name"],
            sync_enabled=False,
            active=True,
        )
        session.add_all([synced, unsynced])
        await session.flush()
        sub_job = None
        if sub is not None:
            sub_job = SubJob(
                company_id=company_id, project_id=synced.id, external_id=str(sub["id"]), name=sub["name"]
            )
            session.add(sub_job)
            await session.flush()
        ids = (synced.id, unsynced.id, sub_job.id if sub_job else None)
    labor = await _sandbox_codes(env, connection_id, first["id"])
    on_sub = [
        c
        for c in labor
        if sub is not None and c[0]["biller_type"] == "SubJob" and c[0]["biller_id"] == sub["id"]
    ]
    on_project = [c for c in labor if c[0]["biller_type"] != "SubJob"]
    codes = [*on_sub[:1], *on_project][:3]  # milestone 0 is under the sub job when there is one
    other_code = (await _sandbox_codes(env, connection_id, other["id"]))[0]
    milestones = []
    for n, (code, lit) in enumerate(codes):
        milestones.append(
            Milestone(
                company_id=company_id,
                project_id=ids[0],
                sub_job_id=ids[2] if n == 0 and on_sub else None,
                key=f"procore:budget_line:cc:{code['id']}:cat:{lit}",
                cost_code_external_id=str(code["id"]),
                line_item_type_external_id=str(lit),
                name=f"{code['full_code']} {code['name']} · Labor",
                budgeted_hours=40.0,
            )
        )
    hidden = Milestone(
        company_id=company_id,
        project_id=ids[1],
        key=f"procore:budget_line:cc:{other_code[0]['id']}:cat:{other_code[1]}",
        cost_code_external_id=str(other_code[0]["id"]),
        line_item_type_external_id=str(other_code[1]),
        name="Unsynced work",
    )
    await _add(db, [*milestones, hidden])
    workers = [tenant.worker.id]
    pins = [f"{1000 + int((tenant.worker.employee_id or 'E0')[1:])}"]
    async with db.transaction() as session:
        for n in (1, 2):
            pin = f"7{company_id:03d}{n}"[-6:]
            member = await accounts_service.create_worker(
                session,
                settings,
                company_id,
                WorkerIn(name=f"Crew Member {n}", employee_id=f"CM{company_id}-{n}", pin=pin),
            )
            workers.append(member.id)
            pins.append(pin)
    parties = {w: people[n]["id"] for n, w in enumerate(workers)}
    if map_people:
        await _add(
            db,
            [
                ProcorePerson(
                    company_id=company_id,
                    connection_id=connection_id,
                    external_id=str(p),
                    name=f"Person {p}",
                    worker_id=w,
                )
                for w, p in parties.items()
            ],
        )
    crew = Crew(
        tenant=tenant,
        connection_id=connection_id,
        project_id=ids[0],
        procore_project_id=first["id"],
        milestones=[m.id for m in milestones],
        codes={
            m.id: (int(c["id"]), lit, int(sub["id"]) if n == 0 and sub and on_sub else None)
            for n, (m, (c, lit)) in enumerate(zip(milestones, codes, strict=True))
        },
        workers=workers,
        pins=pins,
        parties=parties,
        unsynced_milestone=hidden.id,
    )
    for w, pin in zip(workers, pins, strict=True):
        crew.tokens[w] = await sign_in(env.client, tenant.company.code, pin)
    await _reach_back_to_shift_start(db, company_id)
    return crew


async def _reach_back_to_shift_start(db: Database, company_id: int) -> None:
    """These tests clock in at fixed dates (SHIFT_START, and the DST days of test_dates.py back
    to March 2026); the time policy (tested on its own in test_time_policy.py) would hold them
    once they are more than its default 7 days back. The policy's longest reach is a year."""
    await _add(db, [TimePolicy(company_id=company_id, max_days_back=366)])


async def sign_in(client: httpx.AsyncClient, code: str, pin: str) -> str:
    response = await client.post("/api/v1/auth/worker-sign-in", json={"company_code": code, "pin": pin})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


async def deliver(env: ProcoreEnv, crew: Crew) -> DrainReport:
    return await drain(env.db, crew.connection_id, http=env.http, settings=env.settings, config=FAST)


async def sandbox_entries(env: ProcoreEnv, project_id: int | None = None) -> list[dict[str, Any]]:
    rows = (await env.sandbox.get("/_sandbox/records/timecard_entries")).json()
    return [r for r in rows if project_id is None or r["project_id"] == project_id]


async def lock_day_in_procore(env: ProcoreEnv, crew: Crew, day: str) -> None:
    """Procore's approver approves the timesheet of that day: its entries refuse updates."""
    pid = crew.procore_project_id
    async with env.procore_client(crew.connection_id) as procore:
        entries = await procore.get_json(f"/rest/v1.0/projects/{pid}/timecard_entries", {"log_date": day})
        sheet = await procore.post_json(f"/rest/v1.0/projects/{pid}/timesheets", {"timesheet": {"date": day}})
        for entry in entries:
            await procore.patch_json(
                f"/rest/v1.0/projects/{pid}/timecard_entries/{entry['id']}",
                {"timecard_entry": {"timesheet_id": sheet["id"]}},
            )
        await procore.patch_json(
            f"/rest/v1.0/projects/{pid}/timesheets/update_approval",
            {"timesheets": [{"id": sheet["id"], "status": "approved"}]},
        )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def set_project_zone(env: ProcoreEnv, crew: Crew, name: str | None) -> None:
    async with env.db.transaction() as session:
        await session.execute(update(Project).where(Project.id == crew.project_id).values(time_zone=name))


async def work_shift(env: ProcoreEnv, crew: Crew, start: datetime, end: datetime) -> dict[str, Any]:
    """The foreman clocks in at `start` and out at `end` (any offset); the closed shift."""
    shift_id = new_id()
    body = {
        "id": new_id(),
        "milestone_id": crew.milestones[0],
        "started_at": start.isoformat(),
        "members": [{"worker_id": crew.workers[0], "shift_id": shift_id}],
    }
    response = await env.client.post(f"{API}/clock-in", json=body, headers=crew.auth())
    assert response.status_code == 201, response.text
    out = {
        "id": new_id(),
        "shift_ids": [shift_id],
        "ended_at": end.isoformat(),
        "break_minutes": 0,
        "injured": False,
    }
    response = await env.client.post(f"{API}/clock-out", json=out, headers=crew.auth())
    assert response.status_code == 200, response.text
    (shift,) = response.json()["shifts"]
    return dict(shift)


async def link_person_by_api(env: ProcoreEnv, crew: Crew, worker_id: int, name: str) -> None:
    """An admin links the worker to their Procore person (a people row the sync would have made)."""
    async with env.db.transaction() as session:
        person = ProcorePerson(
            company_id=crew.tenant.company.id,
            connection_id=crew.connection_id,
            external_id=str(crew.parties[worker_id]),
            name=name,
        )
        session.add(person)
    linked = await env.client.patch(
        f"/api/v1/procore-people/{person.id}",
        json={"worker_id": worker_id},
        headers=bearer(crew.tenant.api_key),
    )
    assert linked.status_code == 200, linked.text
