"""Job entry points of the safety domain: the daily safety summary at 17:00 site time, and the
periodic refresh of each linked connection's mapping values and project tools."""

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.jobs.registry import LocalRun, at_local_time
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.logging import get_logger
from fieldbridge.safety import link_service, mapping_service, summary
from fieldbridge.safety.link_service import Platform
from fieldbridge.safety.models import SafetySiteLink
from fieldbridge.safety.repository import SafetyRepository

log = get_logger("fieldbridge.safety.tasks")


@at_local_time("safety.daily_summary", "17:00")
async def daily_summary(run: LocalRun) -> None:
    """Store the day's summary of the project's safety site as a new version (once per local
    date: the job's run key and this row commit together). The project's zone decides when
    17:00 is; the site's zone (the project's unless an admin changed it) decides the day."""
    site = await SafetyRepository.from_session(run.session).site_of_project(run.project.id)
    if site is None or not site.active:
        return
    await summary.snapshot(run.session, site, run.local_date)


# -- safety mapping and tools refresh ---------------------------------------------------------
REFRESH_EVERY = timedelta(hours=6)


async def refresh_connection(platform: Platform, connection_id: int) -> int:
    """Fetch one connection's mapping values and re-check its links' project tools; returns
    how many mapped values are flagged missing. The platform is asked outside any transaction
    of ours (its client writes tokens and the rate budget on its own)."""
    async with platform.db.transaction() as session:
        connection = await session.get(Connection, connection_id)
        if connection is None or connection.status != ConnectionStatus.connected:
            return 0
        links = [
            (x.id, x.remote_project_id)
            for x in await session.scalars(
                select(SafetySiteLink).where(SafetySiteLink.connection_id == connection_id)
            )
        ]
        session.expunge(connection)
    fetched = await mapping_service.fetch_values(platform, connection)
    tools = {link_id: await link_service.check_tools(platform, connection, pid) for link_id, pid in links}
    async with platform.db.transaction() as session:
        flagged = await mapping_service.store_values(session, connection, fetched)
        for link_id, verdict in tools.items():
            link = await session.get(SafetySiteLink, link_id)
            if link is not None:
                link_service.set_tools(link, verdict)
    if flagged:
        log.warning("safety.mapped_values_missing", connection_id=connection_id, count=flagged)
    return flagged


async def refresh_due(platform: Platform, every: timedelta = REFRESH_EVERY) -> int:
    """Refresh every connection with a safety flow whose values are older than `every` (or
    never fetched) and that some site links to; returns how many were refreshed."""
    async with platform.db.transaction() as session:
        linked = set(await session.scalars(select(SafetySiteLink.connection_id).distinct()))
        due = [
            c.id
            for c in await session.scalars(select(Connection).where(Connection.id.in_(linked)))
            if c.status == ConnectionStatus.connected
            and link_service.safety_flow(c.provider) is not None
            and await mapping_service.values_due(session, c.id, utcnow() - every)
        ]
    refreshed = 0
    for connection_id in due:
        try:
            await refresh_connection(platform, connection_id)
            refreshed += 1
        except FieldBridgeError as exc:  # the platform did not answer: the next pass tries again
            log.warning("safety.refresh_failed", connection_id=connection_id, error=exc.message)
    return refreshed


async def run_safety_refresh(app_state: Any, stop: asyncio.Event, poll_seconds: float = 300.0) -> None:
    """`serve`'s loop (FIELDBRIDGE_SCHEDULER): every `poll_seconds`, refresh what is due."""
    platform = Platform(app_state.db, app_state.http, SecretBox(app_state.settings.secret))
    while not stop.is_set():
        try:
            await refresh_due(platform)
        except Exception:  # the loop must survive anything; the error is logged with context
            log.exception("safety.refresh_pass_failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            continue
