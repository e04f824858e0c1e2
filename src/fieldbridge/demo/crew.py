"""The demo's whole clock-in path: the offline Procore sandbox connected (service account),
projects synced, workers matched to Procore people, and a crew clocked in whose timecards the
server's delivery runner sends to the sandbox seconds after `fieldbridge demo` starts.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy import select

from fieldbridge import wiring
from fieldbridge.accounts.auth import Principal
from fieldbridge.accounts.models import Company, Worker
from fieldbridge.accounts.scopes import WORKER_SCOPES
from fieldbridge.connections import service as connections
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.procore.config import ProcoreConfig
from fieldbridge.connectors.procore.offline import connect_offline_sandbox
from fieldbridge.demo.sandboxes import serve_in_thread
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings
from fieldbridge.sites import service as sites
from fieldbridge.sites.models import Project
from fieldbridge.sites.tasks import sync_connection
from fieldbridge.timekeeping import service as timekeeping
from fieldbridge.timekeeping.schemas import ClockIn, Member
from fieldbridge.timekeeping.targets import tree

SYNCED_PROJECTS = 3
CREW = ("Maria Lopez", "James Carter", "Aisha Khan")  # the foreman first


@dataclass(frozen=True)
class DemoPath:
    sandbox_url: str
    projects: list[str]
    clocked_in: list[str]
    place: str


def start_sandbox(port: int) -> str:
    """Serve the Procore sandbox (demo seed) in a daemon thread; returns its URL."""
    from fieldbridge_sandbox import SandboxConfig
    from fieldbridge_sandbox import create_app as create_sandbox

    return serve_in_thread(create_sandbox(SandboxConfig(seed="demo")), port, "Procore sandbox")


async def _sandbox_company(sandbox_url: str) -> int:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=10) as client:
        companies = (await client.get("/_sandbox/records/companies")).json()
    return int(companies[0]["id"])


async def _connect(
    db: Database, settings: Settings, http: HttpClients, company: Company, sandbox_url: str
) -> int:
    async with db.transaction() as session:
        known = await session.scalar(
            select(Connection.id).where(Connection.company_id == company.id, Connection.provider == "procore")
        )
    async with db.transaction() as session:
        if known is not None:  # a demo database from an earlier run: point it at this sandbox
            connection = await session.get(Connection, known)
            assert connection is not None
            config = ProcoreConfig.model_validate(connection.config)
            config.offline_url = sandbox_url
            connection.config = config.model_dump(mode="json")
            return int(known)
        procore_company = await _sandbox_company(sandbox_url)
        connection = await connect_offline_sandbox(
            session, settings, http, company.id, sandbox_url, procore_company
        )
        return connection.id


async def wire(settings: Settings, sandbox_url: str, company_code: str) -> DemoPath:
    wiring.install(settings)  # the crew clocks in before the server starts
    db = Database(settings.database_url)
    http = HttpClients(allow_emulators=settings.offline_sandbox_allowed)
    try:
        async with db.transaction() as session:
            company = await session.scalar(select(Company).where(Company.code == company_code))
            assert company is not None, "seed the demo company first"
        connection_id = await _connect(db, settings, http, company, sandbox_url)
        box = connections.box_of(settings)
        await sync_connection(db, http, box, connection_id, discover=True, base_url=settings.base_url)
        async with db.transaction() as session:
            rows = await session.scalars(
                select(Project)
                .where(
                    Project.company_id == company.id,
                    Project.active.is_(True),
                    Project.excluded_reason.is_(None),
                )
                .order_by(Project.name)
                .limit(SYNCED_PROJECTS)
            )
            projects = list(rows)
            await sites.set_sync(session, company.id, [p.id for p in projects], True)
        await sync_connection(
            db, http, box, connection_id, project_ids=[p.id for p in projects], discover=False
        )
        return await _clock_in_crew(db, company, sandbox_url, [p.name for p in projects])
    finally:
        await db.dispose()


async def _clock_in_crew(db: Database, company: Company, sandbox_url: str, projects: list[str]) -> DemoPath:
    async with db.transaction() as session:
        workers = {
            w.name: w
            for w in await session.scalars(
                select(Worker).where(Worker.company_id == company.id, Worker.name.in_(CREW))
            )
        }
        crew = [workers[name] for name in CREW if name in workers]
        jobs = await tree(session, company.id)
        if not crew or not jobs:
            return DemoPath(sandbox_url, projects, [], "")
        everything = [m for job in jobs for sub in job.sub_jobs for m in sub.milestones]
        milestone = next((m for m in everything if "Labor" in m.milestone_name), everything[0])
        foreman = crew[0]
        principal = Principal(company.id, company.name, "worker", foreman.id, foreman.name, WORKER_SCOPES)
        body = ClockIn(
            id=uuid.uuid4().hex,
            milestone_id=milestone.milestone_id,
            started_at=utcnow() - timedelta(minutes=5),
            members=[Member(worker_id=w.id, shift_id=uuid.uuid4().hex) for w in crew],
        )
        try:
            await timekeeping.clock_in(session, principal, body)
        except Exception:  # already on the clock from an earlier demo run: nothing to add
            return DemoPath(sandbox_url, projects, [], milestone.place)
    return DemoPath(sandbox_url, projects, [w.name for w in crew], milestone.place)


def sandbox_entries_url(path: DemoPath) -> str:
    return f"{path.sandbox_url}/_sandbox/records/timecard_entries"
