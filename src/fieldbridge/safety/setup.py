"""The safety setup checklist: connect (or reuse a connection), a site, each site mapped to a
project, the projects' tools usable, thresholds and the summary time, the field mapping. Each
step is done or not, says why in one line, and links to where it is done. Read-only."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.models import Connection
from fieldbridge.safety import mapping_service
from fieldbridge.safety.link_schemas import SetupOut, SetupStep
from fieldbridge.safety.link_service import platform_name, safety_connections, tool_names
from fieldbridge.safety.models import SafetySite, SafetySiteLink
from fieldbridge.safety.repository import SafetyRepository

INTEGRATIONS = "/settings/integrations"


def _names(sites: Sequence[SafetySite], limit: int = 3) -> str:
    names = [s.name for s in sites[:limit]]
    more = len(sites) - limit
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _named(connection: Connection) -> str:
    """The connection's label, with its platform's name unless the label says it already."""
    platform = platform_name(connection.provider)
    return connection.label if platform in connection.label else f"{connection.label} ({platform})"


async def checklist(session: AsyncSession, company_id: int) -> SetupOut:
    connections = await safety_connections(session, company_id)
    sites = [s for s in await SafetyRepository.from_session(session).sites(company_id) if s.active]
    links = (
        await session.scalars(select(SafetySiteLink).where(SafetySiteLink.company_id == company_id))
    ).all()
    enabled = [x for x in links if x.enabled]
    linked_sites = {x.site_id for x in enabled}
    unmapped = [s for s in sites if s.id not in linked_sites]
    steps = [
        SetupStep(
            key="connect",
            title="Connect the platform your projects are on (or reuse the connection you have)",
            done=bool(connections),
            detail=", ".join(_named(c) for c in connections) or "No connection carries safety records yet.",
            href=INTEGRATIONS,
        ),
        SetupStep(
            key="sites",
            title="Add a safety site",
            done=bool(sites),
            detail=f"{len(sites)} active site(s)." if sites else "No active safety site yet.",
            href="/safety",
        ),
        SetupStep(
            key="map_sites",
            title="Map each site to its project",
            done=bool(sites) and not unmapped,
            detail=f"Not mapped: {_names(unmapped)}." if unmapped else f"{len(linked_sites)} site(s) mapped.",
            href=f"/safety/sites/{unmapped[0].id}#links" if unmapped else "/safety",
        ),
        _tools_step(enabled, {s.id: s for s in sites}, {c.id: c.provider for c in connections}),
        _settings_step(enabled, {s.id: s for s in sites}),
    ]
    steps.append(await _mapping_step(session, connections))
    done = sum(s.done for s in steps)
    return SetupOut(steps=steps, done=done, total=len(steps))


def _tools_step(
    links: Sequence[SafetySiteLink], sites: dict[int, SafetySite], providers: dict[int, str]
) -> SetupStep:
    unchecked = [x for x in links if x.tools_checked_at is None]
    blocked = [
        f"{sites[x.site_id].name if x.site_id in sites else x.site_id}: "
        f"{tool_names(providers.get(x.connection_id, '')).get(capability, capability)} {reason}"
        for x in links
        for capability, reason in sorted(x.tool_status.items())
        if reason
    ]
    if not links:
        detail = "Map a site first."
    elif blocked:
        detail = "; ".join(blocked[:4]) + ("; …" if len(blocked) > 4 else "") + "."
    elif unchecked:
        detail = f"{len(unchecked)} link(s) not checked yet."
    else:
        detail = (
            "The tools for incidents, observations and the daily summary are usable in every mapped project."
        )
    target = next((x for x in links if x.tools_checked_at is None or any(x.tool_status.values())), None)
    return SetupStep(
        key="tools",
        title="Check each project's tools for incidents, observations and the daily summary",
        done=bool(links) and not unchecked and not blocked,
        detail=detail,
        href=f"/safety/sites/{target.site_id}#links" if target else "/safety",
    )


def _settings_step(links: Sequence[SafetySiteLink], sites: dict[int, SafetySite]) -> SetupStep:
    lines = []
    for x in links:
        site = sites.get(x.site_id)
        if site is None:
            continue
        push = "every detection" if x.push_all else f"priority ≥ {x.observation_threshold}"
        summary = f"summary {x.summary_time:%H:%M} {site.time_zone}" if x.summary_enabled else "no summary"
        lines.append(f"{site.name}: {push}, {summary}")
    return SetupStep(
        key="thresholds",
        title="Set the observation threshold and the daily summary time",
        done=bool(lines),
        detail="; ".join(lines[:4]) + "." if lines else "Map a site first (defaults: priority ≥ 3, 17:00).",
        href=f"/safety/sites/{links[0].site_id}#links" if links else "/safety",
    )


async def _mapping_step(session: AsyncSession, connections: Sequence[Connection]) -> SetupStep:
    problems: list[str] = []
    unfetched: list[str] = []
    first = None
    for connection in connections:
        view = await mapping_service.mapping_view(session, connection)
        if any(c.fetched_at is None for c in view.categories):
            unfetched.append(connection.label)
        open_rows = sum(bool(r.problem) for c in view.categories for r in c.rows)
        if open_rows:
            problems.append(f"{connection.label}: {open_rows} value(s) to pick")
        if first is None and (open_rows or unfetched):
            first = connection.id
    if not connections:
        detail = "Connect first."
    elif unfetched:
        detail = f"Values not fetched yet for {', '.join(unfetched)}."
    elif problems:
        detail = "; ".join(problems) + "."
    else:
        detail = "Every event type and priority maps to a value that exists."
    target = first if first is not None else (connections[0].id if connections else None)
    return SetupStep(
        key="mapping",
        title="Review the field mapping",
        done=bool(connections) and not unfetched and not problems,
        detail=detail,
        href=f"/safety/mapping/{target}" if target is not None else INTEGRATIONS,
    )
