"""REST routes of safety setup under /api/v1: a site's links to remote projects (one per
connection), the choices for them, a connection's field mapping (read, edit, refresh from the
platform) and the setup checklist.

Routes that ask the platform (tools, values) commit what they read first and write after the
answer: the connector's client writes its tokens and rate budget in transactions of its own."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service as connections_service
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.deps import DatabaseDep, HttpDep, SessionDep, SettingsDep
from fieldbridge.kit.errors import NotFound
from fieldbridge.safety import link_service, mapping_service, service, setup
from fieldbridge.safety.link_schemas import (
    ConnectionChoice,
    LinkIn,
    LinkOut,
    LinkPatch,
    MappingIn,
    MappingOut,
    ProjectChoice,
    SetupOut,
)
from fieldbridge.safety.models import SafetySiteLink

router = APIRouter(tags=["safety setup"])

SafetyRead = Annotated[Principal, Depends(require(Scope.safety_read), scope="function")]
SafetyWrite = Annotated[Principal, Depends(require(Scope.safety_write), scope="function")]
ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]
ConnectionsWrite = Annotated[Principal, Depends(require(Scope.connections_write), scope="function")]


async def _platform(db: DatabaseDep, http: HttpDep, settings: SettingsDep) -> link_service.Platform:
    return link_service.Platform(db, http, SecretBox(settings.secret))


PlatformDep = Annotated[link_service.Platform, Depends(_platform)]


async def _view(session: SessionDep, company_id: int, link: SafetySiteLink) -> LinkOut:
    return (await link_service.link_views(session, company_id, [link]))[0]


async def _site_link(session: SessionDep, company_id: int, site_id: int, link_id: int) -> SafetySiteLink:
    await service.get_site(session, company_id, site_id)
    link = await link_service.get_link(session, company_id, link_id)
    if link.site_id != site_id:
        raise NotFound("No such link on this site.")
    return link


@router.get("/safety/link-choices", response_model=list[ConnectionChoice], summary="What a site can link to")
async def link_choices(principal: SafetyRead, session: SessionDep) -> list[ConnectionChoice]:
    """The company's connections that carry safety records, each with its synced projects."""
    out = []
    for connection in await link_service.safety_connections(session, principal.company_id):
        projects = await link_service.projects_of(session, principal.company_id, connection.id)
        out.append(
            ConnectionChoice(
                connection_id=connection.id,
                provider=connection.provider,
                label=connection.label,
                status=connection.status,
                projects=[
                    ProjectChoice(
                        project_id=p.id,
                        name=p.display_name or p.name,
                        remote_project_id=p.external_id,
                        active=p.active,
                        excluded_reason=p.excluded_why,
                    )
                    for p in projects
                ],
            )
        )
    return out


@router.get("/safety/sites/{site_id}/links", response_model=list[LinkOut], summary="A site's project links")
async def list_links(site_id: int, principal: SafetyRead, session: SessionDep) -> list[LinkOut]:
    await service.get_site(session, principal.company_id, site_id)
    links = await link_service.site_links(session, principal.company_id, site_id)
    return await link_service.link_views(session, principal.company_id, links)


@router.post(
    "/safety/sites/{site_id}/links",
    response_model=LinkOut,
    status_code=status.HTTP_201_CREATED,
    summary="Link a site to a project of a connection",
    responses={409: {"description": "The site already has a link through that connection"}},
)
async def create_link(
    site_id: int,
    body: LinkIn,
    principal: SafetyWrite,
    session: SessionDep,
    platform: PlatformDep,
) -> LinkOut:
    """Checks the project's Incidents, Observations and Daily Log tools through the connector
    and stores the verdict (`tools`); a tool that cannot be used is shown, not refused."""
    site = await service.get_site(session, principal.company_id, site_id)
    target = await link_service.check_target(
        session, principal.company_id, body.connection_id, body.project_id
    )
    await link_service.ensure_free(session, site, target)
    await session.commit()  # read done; the connector writes tokens and budget on its own
    tools = await link_service.check_tools(platform, target.connection, target.project.external_id)
    link = await link_service.create_link(session, principal.company_id, site, target, body, tools)
    return await _view(session, principal.company_id, link)


@router.get("/safety/sites/{site_id}/links/{link_id}", response_model=LinkOut, summary="One link")
async def get_link(site_id: int, link_id: int, principal: SafetyRead, session: SessionDep) -> LinkOut:
    return await _view(
        session, principal.company_id, await _site_link(session, principal.company_id, site_id, link_id)
    )


@router.patch("/safety/sites/{site_id}/links/{link_id}", response_model=LinkOut, summary="Change a link")
async def update_link(
    site_id: int,
    link_id: int,
    body: LinkPatch,
    principal: SafetyWrite,
    session: SessionDep,
    platform: PlatformDep,
) -> LinkOut:
    """Only the fields sent change. A new `project_id` (of the same connection) is checked again."""
    link = await _site_link(session, principal.company_id, site_id, link_id)
    target, tools = None, None
    if body.project_id is not None and body.project_id != link.project_id:
        target = await link_service.check_target(
            session, principal.company_id, link.connection_id, body.project_id
        )
        await session.commit()
        tools = await link_service.check_tools(platform, target.connection, target.project.external_id)
    link_service.update_link(link, body, target, tools)
    return await _view(session, principal.company_id, link)


@router.post(
    "/safety/sites/{site_id}/links/{link_id}/check",
    response_model=LinkOut,
    summary="Check the project's safety tools again",
)
async def check_link(
    site_id: int,
    link_id: int,
    principal: SafetyWrite,
    session: SessionDep,
    platform: PlatformDep,
) -> LinkOut:
    link = await _site_link(session, principal.company_id, site_id, link_id)
    connection = await connections_service.get_connection(session, principal.company_id, link.connection_id)
    await session.commit()
    tools = await link_service.check_tools(platform, connection, link.remote_project_id)
    link_service.set_tools(link, tools)
    return await _view(session, principal.company_id, link)


@router.delete(
    "/safety/sites/{site_id}/links/{link_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a link"
)
async def delete_link(site_id: int, link_id: int, principal: SafetyWrite, session: SessionDep) -> Response:
    """Records already queued for the project still go out; nothing new is sent there."""
    await session.delete(await _site_link(session, principal.company_id, site_id, link_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- field mapping ---------------------------------------------------------------------------
@router.get(
    "/connections/{connection_id}/safety-mapping",
    response_model=MappingOut,
    summary="A connection's safety mapping",
)
async def get_mapping(connection_id: int, principal: ConnectionsRead, session: SessionDep) -> MappingOut:
    """Per category (hazard, observation type, priority, ...): each source key (an event type,
    a priority 1..5), what it maps to now (`origin`: edited, default or none), the values the
    platform offered at the last refresh, and `missing` flags for edited values gone upstream."""
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    return await mapping_service.mapping_view(session, connection)


@router.patch(
    "/connections/{connection_id}/safety-mapping",
    response_model=MappingOut,
    summary="Edit the safety mapping",
)
async def edit_mapping(
    connection_id: int, body: MappingIn, principal: ConnectionsWrite, session: SessionDep
) -> MappingOut:
    """Each entry sets one source key to a value the platform offers (its id); an empty value
    goes back to the default. All entries or none: a bad one is a 422 naming it."""
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    await mapping_service.save_entries(session, connection, body.entries)
    return await mapping_service.mapping_view(session, connection)


@router.post(
    "/connections/{connection_id}/safety-mapping/refresh",
    response_model=MappingOut,
    summary="Fetch the platform's values again",
    responses={502: {"description": "The platform did not answer; nothing changed"}},
)
async def refresh_mapping(
    connection_id: int,
    principal: ConnectionsWrite,
    session: SessionDep,
    platform: PlatformDep,
) -> MappingOut:
    """Replaces the cached values and flags edited entries whose value disappeared."""
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    mapping_service.flow_of(connection)
    await session.commit()
    fetched = await mapping_service.fetch_values(platform, connection)
    await mapping_service.store_values(session, connection, fetched)
    return await mapping_service.mapping_view(session, connection)


@router.get("/safety/setup", response_model=SetupOut, summary="The safety setup checklist")
async def setup_checklist(principal: SafetyRead, session: SessionDep) -> SetupOut:
    return await setup.checklist(session, principal.company_id)
