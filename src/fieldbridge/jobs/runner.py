"""Running local-time jobs: one `tick` that any number of processes may call at once.

Backends: `serve` runs `run_local_jobs` in its event loop (FIELDBRIDGE_SCHEDULER, every
FIELDBRIDGE_JOBS_POLL_SECONDS); `fieldbridge worker` runs the Procrastinate periodic task
`jobs.local_time` (FIELDBRIDGE_JOBS_CRON), which calls the same `tick`. Exactly-once comes from
the run key (jobs/models.py), not from which process ticks, so mixing both is safe.
"""

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from fieldbridge.jobs.registry import LocalTimeJob, load_job_modules, periodic_jobs, tickers
from fieldbridge.jobs.repository import JobsRepository
from fieldbridge.jobs.service import claim_and_run, due_dates, zone
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

log = get_logger("fieldbridge.jobs")


def process_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"[:120]


def configured_jobs(settings: Settings) -> list[LocalTimeJob]:
    """The built-in jobs, and those of FIELDBRIDGE_JOB_MODULES and FIELDBRIDGE_CONNECTOR_MODULES."""
    return load_job_modules([*settings.connector_module_names, *settings.job_module_names])


def worker_tick(settings: Settings) -> Callable[[Database, str], Awaitable[int]]:
    """`tick` over the configured jobs, as `fieldbridge worker`'s `jobs.local_time` task runs it."""
    jobs = configured_jobs(settings)
    catch_up = timedelta(minutes=settings.jobs_catch_up_minutes)

    async def run(db: Database, owner: str) -> int:
        return await tick(db, jobs, owner=owner, catch_up=catch_up)

    return run


async def tick(
    db: Database,
    jobs: list[LocalTimeJob],
    *,
    owner: str,
    catch_up: timedelta,
    now: datetime | None = None,
) -> int:
    """Run every due (job, project, local date) not yet run, then the registered tickers;
    returns how many this call ran. A failing run is logged and rolled back with its key, so a
    later tick retries it."""
    now = now or utcnow()
    ran = 0
    for ticker in tickers():
        try:
            ran += await ticker(db, owner, catch_up, now)
        except Exception:
            log.exception("jobs.ticker_failed")
    if not jobs:
        return ran
    async with db.sessionmaker() as session:
        projects = await JobsRepository.from_session(session).projects_for_job()
        session.expunge_all()
    for job in jobs:
        due = []
        for project in projects:
            tz = zone(project.time_zone or "")
            if tz is None:
                continue
            due += [(project, d, at) for d, at in due_dates(job.at, tz, now, catch_up)]
        if not due:
            continue
        async with db.sessionmaker() as session:
            done = await JobsRepository.from_session(session).ran_keys(
                job.name, sorted({d for _, d, _ in due})
            )
        for project, local_date, scheduled_at in due:
            if (project.id, local_date) in done:
                continue
            ran += await _run_one(db, job, project, local_date, scheduled_at, owner)
    return ran


async def _run_one(
    db: Database, job: LocalTimeJob, project: Project, local_date: date, scheduled_at: datetime, owner: str
) -> int:
    project_id = project.id
    try:
        async with db.transaction() as session:
            attached = await session.merge(project, load=True)
            if not await claim_and_run(
                session, job, attached, local_date, scheduled_at, now=utcnow(), owner=owner
            ):
                return 0
    except Exception:  # one project's failure must not stop the others; a later tick retries
        log.exception(
            "jobs.local_time_failed", job=job.name, project_id=project_id, local_date=str(local_date)
        )
        return 0
    log.info("jobs.local_time_ran", job=job.name, project_id=project_id, local_date=str(local_date))
    return 1


async def run_local_jobs(db: Database, settings: Settings, stop: asyncio.Event) -> None:
    """`serve`'s loop: tick every FIELDBRIDGE_JOBS_POLL_SECONDS until `stop` is set."""
    jobs = configured_jobs(settings)
    owner = process_name("serve")
    catch_up = timedelta(minutes=settings.jobs_catch_up_minutes)
    while not stop.is_set():
        try:
            await tick(db, jobs, owner=owner, catch_up=catch_up)
        except Exception:
            log.exception("jobs.tick_failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.jobs_poll_seconds)
        except TimeoutError:
            continue


async def run_periodic_jobs(db: Database, http: HttpClients, settings: Settings, stop: asyncio.Event) -> None:
    """`serve`'s loop for periodic jobs (jobs.registry.every): each runs when its interval is up."""
    configured_jobs(settings)  # imports the modules that register them
    last: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        for job in periodic_jobs():
            if loop.time() - last.get(job.name, float("-inf")) < job.seconds:
                continue
            last[job.name] = loop.time()
            try:
                await job.run(db, http, settings)
            except Exception:  # the loop must survive anything; the next interval retries
                log.exception("jobs.periodic_failed", job=job.name)
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.jobs_poll_seconds)
        except TimeoutError:
            continue
