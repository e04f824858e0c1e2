"""Rules of local-time jobs: when a (project, local date) is due, and running one under its key.

A job at HH:MM is due for local date D from HH:MM on D in the project's zone (as a UTC instant,
so a 23- or 25-hour day changes nothing) until `catch_up` later: a process that was down at
17:00 still runs the day's job when it comes back within the window, and never a stale one.
A time that does not exist on D (inside a spring-forward gap) is read with the offset before
the change (02:30 becomes 03:30 daylight time); an ambiguous one (fall-back) is the first.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.jobs.registry import LocalRun, LocalTimeJob
from fieldbridge.jobs.repository import JobsRepository
from fieldbridge.sites.models import Project


def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def scheduled_instant(local_date: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(local_date, at, tzinfo=tz).astimezone(UTC)


def due_dates(at: time, tz: ZoneInfo, now: datetime, catch_up: timedelta) -> Iterator[tuple[date, datetime]]:
    """(local date, scheduled instant) pairs due at `now`: at most one, the newest."""
    today = now.astimezone(tz).date()
    for local_date in (today, today - timedelta(days=1)):
        scheduled = scheduled_instant(local_date, at, tz)
        if scheduled <= now < scheduled + catch_up:
            yield local_date, scheduled
            return


async def claim_and_run(
    session: AsyncSession,
    job: LocalTimeJob,
    project: Project,
    local_date: date,
    scheduled_at: datetime,
    *,
    now: datetime,
    owner: str,
) -> bool:
    """Claim (job, project, local date) and do the job's work in the caller's transaction;
    False when it has run (or is running) elsewhere."""
    claimed = await JobsRepository.from_session(session).claim(
        job.name, project, local_date, scheduled_at, now, owner
    )
    if claimed:
        await job.run(LocalRun(session, job.name, project, local_date, scheduled_at))
    return claimed
