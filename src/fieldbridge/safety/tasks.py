"""Job entry points of the safety domain: the daily safety summary at 17:00 site time, and
(registered by importing `daily_log`) its posting to each linked platform at the link's
summary time."""

from fieldbridge.jobs.registry import LocalRun, at_local_time
from fieldbridge.safety import daily_log, summary
from fieldbridge.safety.repository import SafetyRepository


@at_local_time("safety.daily_summary", "17:00")
async def daily_summary(run: LocalRun) -> None:
    """Store the day's summary of the project's safety site as a new version (once per local
    date: the job's run key and this row commit together). The project's zone decides when
    17:00 is; the site's zone (the project's unless an admin changed it) decides the day."""
    site = await SafetyRepository.from_session(run.session).site_of_project(run.project.id)
    if site is None or not site.active:
        return
    if await daily_log.fresh_version(run.session, site.id, run.local_date, run.scheduled_at) is not None:
        return  # a link's post at this time computed it already
    await summary.snapshot(run.session, site, run.local_date)
