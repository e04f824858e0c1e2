"""Rules of site links: which connections and projects a safety site can be linked to, the
per-link settings, and the connector's verdict on the project's safety tools. Functions that
write take a session and never commit; `check_tools` talks to the platform and must run while
the caller holds no write (the connector's client writes its tokens and rate budget)."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.connector import ConnectorError, SafetyFlow, installed_registry
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import Conflict, NotFound, Unprocessable
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.logging import get_logger
from fieldbridge.safety.link_schemas import LinkIn, LinkOut, LinkPatch, LinkSettings
from fieldbridge.safety.links import USABLE
from fieldbridge.safety.models import SafetySite, SafetySiteLink
from fieldbridge.sites.models import Project

log = get_logger("fieldbridge.safety.links")
CAPABILITY_NAMES = {"incidents": "Incidents", "observations": "Observations", "daily_log": "Daily Log"}


def _invalid(field: str, problem: str) -> Unprocessable:
    return Unprocessable(f"{field}: {problem}", details=[{"field": field, "problem": problem}])


def safety_flow(provider: str) -> SafetyFlow | None:
    return installed_registry().safety(provider)


def platform_name(provider: str) -> str:
    """The platform's name as people know it (the connector's display name)."""
    try:
        return installed_registry().spec(provider).display_name or provider
    except LookupError:
        return provider


def tool_names(provider: str) -> dict[str, str]:
    """Capability -> what the platform calls that tool (the generic names when it says nothing)."""
    flow = safety_flow(provider)
    return {**CAPABILITY_NAMES, **(flow.tool_names if flow is not None else {})}


async def safety_connections(session: AsyncSession, company_id: int) -> list[Connection]:
    """The company's connections whose connector carries safety records, oldest first."""
    rows = await session.scalars(
        select(Connection).where(Connection.company_id == company_id).order_by(Connection.id)
    )
    return [c for c in rows if safety_flow(c.provider) is not None and c.status in USABLE]


async def projects_of(session: AsyncSession, company_id: int, connection_id: int) -> Sequence[Project]:
    rows = await session.scalars(
        select(Project)
        .where(
            Project.company_id == company_id,
            Project.connection_id == connection_id,
            Project.removed.is_(False),
        )
        .order_by(Project.name)
    )
    return rows.all()


async def site_links(session: AsyncSession, company_id: int, site_id: int) -> Sequence[SafetySiteLink]:
    rows = await session.scalars(
        select(SafetySiteLink)
        .where(SafetySiteLink.company_id == company_id, SafetySiteLink.site_id == site_id)
        .order_by(SafetySiteLink.id)
    )
    return rows.all()


async def get_link(session: AsyncSession, company_id: int, link_id: int) -> SafetySiteLink:
    row = await session.scalar(
        select(SafetySiteLink).where(SafetySiteLink.company_id == company_id, SafetySiteLink.id == link_id)
    )
    if row is None:
        raise NotFound("No such site link in this company.")
    return row


@dataclass(frozen=True)
class Platform:
    """What a connector flow needs to reach the platform: the database (its tokens and rate
    budget), the HTTP clients and the secret box."""

    db: Database
    http: HttpClients
    box: SecretBox


@dataclass(frozen=True)
class Target:
    """What a link points at, checked: the company's connection and one of its projects."""

    connection: Connection
    project: Project


async def check_target(session: AsyncSession, company_id: int, connection_id: int, project_id: int) -> Target:
    """The connection and project a link may use, or a 422 that says what to pick instead."""
    connection = await session.scalar(
        select(Connection).where(Connection.company_id == company_id, Connection.id == connection_id)
    )
    if connection is None:
        raise _invalid("connection_id", "no such connection in this company (GET /api/v1/connections)")
    if safety_flow(connection.provider) is None:
        raise _invalid(
            "connection_id",
            f"a {platform_name(connection.provider)} connection carries no incidents, observations "
            "or summaries",
        )
    if connection.status not in USABLE:
        raise _invalid(
            "connection_id", f"the connection is {connection.status}; connect it (or reconnect) first"
        )
    project = await session.scalar(
        select(Project).where(Project.company_id == company_id, Project.id == project_id)
    )
    if project is None or project.connection_id != connection.id:
        raise _invalid("project_id", f"no project {project_id} seen through connection {connection.id}")
    if project.removed:
        raise _invalid(
            "project_id", f"{project.name} is gone from {platform_name(connection.provider)}; pick another"
        )
    return Target(connection, project)


async def check_tools(
    platform: Platform, connection: Connection, remote_project_id: str
) -> dict[str, str | None] | None:
    """The connector's verdict on the project's safety tools; None when it could not be asked
    (the platform down, a reconnect needed): the link keeps its last verdict."""
    flow = safety_flow(connection.provider)
    if flow is None:
        return None
    try:
        return await flow.project_tools(
            platform.db, platform.http, platform.box, connection, remote_project_id
        )
    except ConnectorError as exc:
        log.warning("safety.tools_check_failed", connection_id=connection.id, error=str(exc))
        return None


def _apply(link: SafetySiteLink, data: LinkSettings, tools: dict[str, str | None] | None) -> None:
    for field, value in data.model_dump(exclude_unset=True, exclude={"connection_id", "project_id"}).items():
        if value is None:
            raise _invalid(field, "may not be null; leave it out to keep the current value")
        setattr(link, field, value)
    if tools is not None:
        link.tool_status = tools
        link.tools_checked_at = utcnow()


async def ensure_free(session: AsyncSession, site: SafetySite, target: Target) -> None:
    """409 when the site already has a link through the target's connection."""
    taken = await session.scalar(
        select(SafetySiteLink.id).where(
            SafetySiteLink.site_id == site.id, SafetySiteLink.connection_id == target.connection.id
        )
    )
    if taken is not None:
        raise _taken(site, target)


def _taken(site: SafetySite, target: Target) -> Conflict:
    return Conflict(
        f"{site.name} already has a link through {target.connection.label}; "
        "change that one (PATCH) or remove it first."
    )


async def create_link(
    session: AsyncSession,
    company_id: int,
    site: SafetySite,
    target: Target,
    data: LinkIn,
    tools: dict[str, str | None] | None,
) -> SafetySiteLink:
    """Insert the link (checked with `check_target` and `ensure_free` before). The insert is the
    first statement of its transaction, so SQLite takes the write lock at once instead of
    upgrading a read that another writer may have overtaken; a link made meanwhile is a 409."""
    link = SafetySiteLink(
        company_id=company_id,
        site_id=site.id,
        connection_id=target.connection.id,
        project_id=target.project.id,
        remote_project_id=target.project.external_id,
    )
    _apply(link, data, tools)
    try:
        async with session.begin_nested():
            session.add(link)
            await session.flush()
    except IntegrityError:
        raise _taken(site, target) from None
    return link


def update_link(
    link: SafetySiteLink, data: LinkPatch, target: Target | None, tools: dict[str, str | None] | None
) -> SafetySiteLink:
    if target is not None:
        link.project_id = target.project.id
        link.remote_project_id = target.project.external_id
        link.tool_status, link.tools_checked_at = {}, None
    _apply(link, data, tools)
    return link


def set_tools(link: SafetySiteLink, tools: dict[str, str | None] | None) -> None:
    if tools is not None:
        link.tool_status = tools
        link.tools_checked_at = utcnow()


def problems(link: SafetySiteLink, connection: Connection, project: Project | None) -> list[str]:
    """What keeps this link's records from going out, in plain words (empty: nothing)."""
    out = []
    if not link.enabled:
        out.append("The link is off: nothing is sent for this project.")
    if connection.status == ConnectionStatus.needs_reconnect:
        out.append(f"{connection.label} needs a reconnect; records wait until then.")
    elif connection.status not in USABLE:
        out.append(f"{connection.label} is {connection.status}; connect it again.")
    if project is not None and not project.active:
        out.append(f"{project.name} is inactive in {platform_name(connection.provider)}.")
    if link.tools_checked_at is None:
        out.append("The project's tools have not been checked yet.")
    names = tool_names(connection.provider)
    for capability, reason in sorted(link.tool_status.items()):
        if reason:
            out.append(f"{names.get(capability, capability)}: {reason}.")
    return out


async def link_views(
    session: AsyncSession, company_id: int, links: Sequence[SafetySiteLink]
) -> list[LinkOut]:
    if not links:
        return []
    connections = {
        c.id: c
        for c in await session.scalars(
            select(Connection).where(
                Connection.company_id == company_id, Connection.id.in_({x.connection_id for x in links})
            )
        )
    }
    projects = {
        p.id: p
        for p in await session.scalars(
            select(Project).where(
                Project.company_id == company_id, Project.id.in_({x.project_id for x in links})
            )
        )
    }
    out = []
    for link in links:
        connection, project = connections[link.connection_id], projects.get(link.project_id)
        out.append(
            LinkOut(
                id=link.id,
                site_id=link.site_id,
                connection_id=link.connection_id,
                provider=connection.provider,
                connection_label=connection.label,
                project_id=link.project_id,
                project_name=(project.display_name or project.name) if project else "",
                remote_project_id=link.remote_project_id,
                enabled=link.enabled,
                observation_threshold=link.observation_threshold,
                push_all=link.push_all,
                fold_window_s=link.fold_window_s,
                summary_time=link.summary_time,
                summary_enabled=link.summary_enabled,
                summary_route=link.summary_route,
                tools=link.tool_status,
                tools_checked_at=link.tools_checked_at,
                problems=problems(link, connection, project),
            )
        )
    return out


@dataclass(frozen=True)
class RemoteRecord:
    """A record sent for a subject (`observation:<detection id>`): where it went, its page there,
    the ledger row (the export log) and the record's status there as last known (at delivery,
    or as the platform reported it back since)."""

    delivery_id: int
    platform: str
    delivery_status: str
    remote_id: str | None
    url: str | None
    status: str | None


async def remote_records(session: AsyncSession, company_id: int, subject: str) -> list[RemoteRecord]:
    """The subject's latest ledger row per connection, oldest connection first."""
    rows = await session.execute(
        select(Delivery, Connection)
        .join(Connection, Connection.id == Delivery.connection_id)
        .where(Connection.company_id == company_id, Delivery.subject == subject)
        .order_by(Delivery.connection_id, Delivery.id.desc())
    )
    out: dict[int, RemoteRecord] = {}
    registry = installed_registry()
    for row, connection in rows:
        if connection.id in out:
            continue
        url = None
        if row.remote_id is not None and row.remote_project_id is not None:
            url = registry.record_url(
                connection.provider, row.kind, row.remote_project_id, row.remote_id, connection.config
            )
        status = (row.remote_record or {}).get("status")
        out[connection.id] = RemoteRecord(
            delivery_id=row.id,
            platform=platform_name(connection.provider),
            delivery_status=str(row.status),
            remote_id=row.remote_id,
            url=url,
            status=str(status) if status is not None else None,
        )
    return list(out.values())
