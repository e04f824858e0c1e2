"""The daily safety summary out: each site link with a summary route posts the site-day's
summary (`<provider>.safety.daily_summary`, subject `summary:<site>:<date>`) at the link's
summary time (default 17:00) in the site's time zone, once per site-day.

Exactly once: the post of (link, local date) claims the run key
`safety.daily_log:<link id>` in `local_job_runs` (the local-time jobs' table: an INSERT .. ON
CONFLICT DO NOTHING in the transaction that enqueues), so restarts, two workers and a DST
change (due dates are decided in the site's zone, `jobs.service.due_dates`) post one entry. A
later summary version of that date (a recompute: a late correction) enqueues an update of the
same subject (`summary:<site>:<date>:v<version>`), which the connector applies to the entry
it created, never a second one.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import Capability, installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.delivery import service as delivery
from fieldbridge.jobs.models import LocalJobRun
from fieldbridge.jobs.registry import on_tick
from fieldbridge.jobs.repository import JobsRepository
from fieldbridge.jobs.service import due_dates, zone
from fieldbridge.kit.db import Database
from fieldbridge.kit.logging import get_logger
from fieldbridge.kit.urls import absolute
from fieldbridge.safety import events, links
from fieldbridge.safety.models import SafetySite, SafetySiteLink, SafetySummary, SummaryRoute
from fieldbridge.sites.models import Project

log = get_logger("fieldbridge.safety.daily_log")
JOB = "safety.daily_log"
WHAT = "daily_summary"


def job_name(link_id: int) -> str:
    return f"{JOB}:{link_id}"


def payload(site: SafetySite, row: SafetySummary, route: str = SummaryRoute.native.value) -> dict[str, Any]:
    alerts, confirmed, observed = events.summary_counts(row.data)
    breaches = int((row.data.get("zone_breaches") or {}).get("total", 0))
    day = row.local_date.isoformat()
    link = absolute(f"/safety/sites/{site.id}/summary?day={day}")
    text = (
        f"FieldBridge daily safety summary, {site.name}, {day}: {events.summary_text(row.data, row.version)}"
        f"\nDetails: {link}"
    )
    return {
        "site_id": site.id,
        "date": day,
        "text": text,
        "version": row.version,
        "counts": {
            "alerts": alerts,
            "confirmed": confirmed,
            "observations": observed,
            "zone_breaches": breaches,
        },
        "link": link,
        "route": route,  # the link's summary route: "native" (a daily log entry) or "comment" (ACC)
    }


async def enqueue(
    session: AsyncSession, target: links.LinkTarget, site: SafetySite, row: SafetySummary
) -> None:
    """One row per version: the same key again (a second caller) returns the row it made."""
    subject = f"summary:{site.id}:{row.local_date.isoformat()}"
    await delivery.enqueue(
        session,
        company_id=site.company_id,
        connection_id=target.connection_id,
        kind=links.kind_for(target, WHAT),
        subject=subject,
        payload=payload(site, row, target.summary_route),
        idempotency_key=f"{subject}:v{row.version}",
        remote_project_id=target.remote_project_id,
    )


def _posts(targets: Sequence[links.LinkTarget]) -> list[links.LinkTarget]:
    return [t for t in targets if t.summary_enabled and t.summary_route != SummaryRoute.off]


async def summary_stored(session: AsyncSession, site: SafetySite, row: SafetySummary) -> None:
    """A new version of a site-day's summary: links that already posted that day update their
    entry (a late correction); the others post it at their time."""
    targets = _posts(await links.targets(session, site.company_id, site.id, Capability.daily_log))
    if not targets:
        return
    names = {job_name(t.link_id): t for t in targets}
    posted = await session.scalars(
        select(LocalJobRun.job_name).where(
            LocalJobRun.job_name.in_(list(names)), LocalJobRun.local_date == row.local_date
        )
    )
    for name in posted:
        await enqueue(session, names[name], site, row)


async def fresh_version(
    session: AsyncSession, site_id: int, day: date, since: datetime
) -> SafetySummary | None:
    """The latest stored version of the site-day computed at or after `since`."""
    return await session.scalar(
        select(SafetySummary)
        .where(
            SafetySummary.site_id == site_id,
            SafetySummary.local_date == day,
            SafetySummary.computed_at >= since,
        )
        .order_by(SafetySummary.version.desc())
        .limit(1)
    )


async def post(
    session: AsyncSession,
    target: links.LinkTarget,
    site: SafetySite,
    project: Project,
    day: date,
    at: datetime,
    *,
    now: datetime,
    owner: str,
) -> bool:
    """Claim (link, day) and enqueue the day's summary in the caller's transaction; False when
    it was posted (or is being posted) elsewhere."""
    from fieldbridge.safety import summary  # summary.snapshot calls summary_stored above

    if not await JobsRepository.from_session(session).claim(
        job_name(target.link_id), project, day, at, now, owner
    ):
        return False
    row = await fresh_version(session, site.id, day, at) or await summary.snapshot(session, site, day)
    await enqueue(session, target, site, row)
    return True


async def _due_links(db: Database) -> list[tuple[SafetySiteLink, SafetySite, Project, str]]:
    async with db.sessionmaker() as session:
        rows = await session.execute(
            select(SafetySiteLink, SafetySite, Project, Connection.provider)
            .join(SafetySite, SafetySite.id == SafetySiteLink.site_id)
            .join(Project, Project.id == SafetySiteLink.project_id)
            .join(Connection, Connection.id == SafetySiteLink.connection_id)
            .where(
                SafetySiteLink.enabled.is_(True),
                SafetySiteLink.summary_enabled.is_(True),
                SafetySiteLink.summary_route != SummaryRoute.off.value,
                SafetySite.active.is_(True),
                Connection.status.in_(links.USABLE),
            )
            .order_by(SafetySiteLink.id)
        )
        found = [(link, site, project, provider) for link, site, project, provider in rows]
        session.expunge_all()
    return found


@on_tick(JOB)
async def tick(db: Database, owner: str, catch_up: timedelta, now: datetime) -> int:
    """Post every due (link, local date) not yet posted; returns how many this call posted."""
    ran = 0
    for link, site, project, provider in await _due_links(db):
        tz = zone(site.time_zone)
        if tz is None:
            continue
        if not installed_registry().can(provider, Capability.daily_log):
            continue
        target = links.target_of(link, provider)
        for day, at in due_dates(link.summary_time, tz, now, catch_up):
            try:
                async with db.transaction() as session:
                    attached_site = await session.merge(site, load=False)
                    attached_project = await session.merge(project, load=False)
                    posted = await post(
                        session, target, attached_site, attached_project, day, at, now=now, owner=owner
                    )
                ran += int(posted)
            except Exception:  # one site's failure must not stop the others; a later tick retries
                log.exception("safety.daily_log_failed", link_id=link.id, local_date=str(day))
    return ran
