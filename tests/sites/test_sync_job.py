"""Listing a company's projects ("Check Procore now", the first visit after picking the company)
is a job: the request records it and answers at once; the page polls, then reloads."""

from datetime import timedelta

from sqlalchemy import func, select

from fieldbridge.connections.models import Connection
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from fieldbridge.sites.tasks import SYNC_JOB_KEY, request_sync, run_requested_syncs
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.jobs.helpers import sync_job_of
from tests.procore_fixtures import ProcoreEnv
from tests.sites.outage import procore_down


async def _projects(db: Database, connection_id: int) -> int:
    async with db.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Project).where(Project.connection_id == connection_id)
        )
        return int(count or 0)


async def _connected(env: ProcoreEnv, db: Database, settings: Settings) -> int:
    """A connected company (no project listed yet) whose admin is signed in on `env.client`."""
    tenant = await create_tenant(db, settings)
    connection_id = await env.connect(tenant)
    await sign_in_browser(env.client, tenant.admin.email)
    return connection_id


async def test_the_projects_page_asks_for_a_listing_and_reloads_when_it_is_done(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    connection_id = await _connected(procore_env, db, settings)
    url = f"/settings/integrations/procore/{connection_id}/projects"
    assert await _projects(db, connection_id) == 0
    page = await procore_env.client.get(url, params={"discover": 1})
    assert page.status_code == 200
    # The answer was rendered before any project was listed: it says so and polls.
    assert 'id="projects-listing"' in page.text
    assert "listing=1" in page.text
    # The job ran after the response (here: in the same ASGI call, as a background task).
    job = await sync_job_of(db, connection_id)
    assert job["state"] == "done", job
    assert job["discover_only"] is True
    assert await _projects(db, connection_id) > 0
    poll = await procore_env.client.get(url, params={"fragment": 1, "listing": 1})
    assert poll.status_code == 204
    assert poll.headers["HX-Redirect"] == f"{url}?checked=1"
    reloaded = await procore_env.client.get(url, params={"checked": 1})
    assert 'id="projects-listing"' not in reloaded.text
    assert "App Management" in reloaded.text  # an excluded project's reason, from the listing


async def test_a_requested_sync_runs_once_and_a_failure_is_shown_after_the_check(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    connection_id = await _connected(procore_env, db, settings)
    await procore_down(procore_env)
    async with db.transaction() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        request_sync(connection, discover_only=True)
        request_sync(connection, discover_only=True)  # a second click while it waits: one job
    assert await run_requested_syncs(db, procore_env.http, procore_env.box) == 1
    assert await run_requested_syncs(db, procore_env.http, procore_env.box) == 0
    job = await sync_job_of(db, connection_id)
    assert job["state"] == "failed"
    assert "503" in job["error"]
    page = await procore_env.client.get(
        f"/settings/integrations/procore/{connection_id}/projects", params={"checked": 1}
    )
    assert job["error"] in page.text


async def test_a_sync_left_running_by_a_dead_process_runs_again_later(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    connection_id = await procore_env.connect(tenant)
    started = utcnow() - timedelta(minutes=31)
    async with db.transaction() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        running = {"state": "running", "discover_only": True, "started_at": started.isoformat()}
        connection.config = {**connection.config, SYNC_JOB_KEY: running}
    assert await run_requested_syncs(db, procore_env.http, procore_env.box) == 1
    assert (await sync_job_of(db, connection_id))["state"] == "done"
    assert await _projects(db, connection_id) > 0


async def test_the_api_answers_sync_now_at_once_with_a_job_to_poll(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    connection_id = await procore_env.connect(tenant)
    url = f"/api/v1/connections/{connection_id}/sync"
    assert (await procore_env.client.get(url, headers=auth)).json()["state"] == "none"
    started = await procore_env.client.post(url, headers=auth)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "queued"
    assert started.json()["discover_only"] is False
    # The job ran after the response (in the same ASGI call here, as a background task).
    done = (await procore_env.client.get(url, headers=auth)).json()
    assert done["state"] == "done", done
    assert done["finished_at"] is not None
    assert await _projects(db, connection_id) > 0
    await procore_down(procore_env)
    assert (await procore_env.client.post(url, headers=auth)).status_code == 202
    failed = (await procore_env.client.get(url, headers=auth)).json()
    assert failed["state"] == "failed"
    assert "503" in failed["error"]
