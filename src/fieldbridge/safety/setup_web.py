"""Admin pages of safety setup: the links section of a site's page (map the site to a project
per connection, its threshold, fold window and summary time, the project's tools), a
connection's field mapping page, and the setup checklist. HTML routes over the same services
as `link_api`; a refused change shows the page again with the reason."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.connections import service as connections_service
from fieldbridge.kit.deps import SessionDep
from fieldbridge.kit.errors import FieldBridgeError, Unprocessable
from fieldbridge.safety import link_service, mapping_service, service, setup
from fieldbridge.safety.link_api import PlatformDep
from fieldbridge.safety.link_schemas import LinkIn, LinkPatch, MappingEntry
from fieldbridge.safety.models import SafetySiteLink
from fieldbridge.web.render import form_problem, render

router = APIRouter(include_in_schema=False)
SETTINGS_FIELDS = ("observation_threshold", "fold_window_s", "summary_time", "summary_route")


def _settings(form: dict[str, str]) -> dict[str, Any]:
    """The link settings of a form: checkboxes are on or off; empty fields are left out."""
    fields: dict[str, Any] = {k: form[k].strip() for k in SETTINGS_FIELDS if form.get(k, "").strip()}
    if "fold_window_s" in fields:  # the form asks for minutes
        try:
            fields["fold_window_s"] = round(float(fields["fold_window_s"]) * 60)
        except ValueError:
            raise Unprocessable("fold window: minutes, e.g. 15") from None
    for box in ("enabled", "push_all", "summary_enabled"):
        fields[box] = form.get(box) == "on"
    return fields


async def site_links_context(session: SessionDep, company_id: int, site_id: int) -> dict[str, Any]:
    """What the site page's links section shows: the links and what a new one can point at."""
    links = await link_service.site_links(session, company_id, site_id)
    taken = {x.connection_id for x in links}
    choices = []
    for connection in await link_service.safety_connections(session, company_id):
        if connection.id in taken:
            continue
        projects = await link_service.projects_of(session, company_id, connection.id)
        choices.append((connection, projects))
    views = await link_service.link_views(session, company_id, links)
    providers = {c.provider for c, _ in choices} | {x.provider for x in views}
    return {
        "links": views,
        "link_choices": choices,
        "platforms": {p: link_service.platform_name(p) for p in providers},
        "tool_names": {p: link_service.tool_names(p) for p in providers},
    }


async def _show_site(
    request: Request, principal: WebPrincipal, session: SessionDep, site_id: int, error: str
) -> Response:
    from fieldbridge.safety.web import site_page_response  # the site page owns its template

    return await site_page_response(request, principal, session, site_id, error, 422)


def _back(site_id: int) -> RedirectResponse:
    return RedirectResponse(f"/safety/sites/{site_id}#links", status_code=303)


@router.post("/safety/sites/{site_id}/links", response_class=HTMLResponse)
async def add_link(
    request: Request,
    site_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    form = await checked_form(request, principal)
    site = await service.get_site(session, principal.company_id, site_id)
    require_web_scope(principal, "safety:write")
    connection_id, _, project_id = form.get("target", "").partition(":")
    try:
        data = LinkIn.model_validate(
            {**_settings(form), "connection_id": connection_id or 0, "project_id": project_id or 0}
        )
        target = await link_service.check_target(
            session, principal.company_id, data.connection_id, data.project_id
        )
        await link_service.ensure_free(session, site, target)
        await session.commit()
        tools = await link_service.check_tools(platform, target.connection, target.project.external_id)
        await link_service.create_link(session, principal.company_id, site, target, data, tools)
    except (ValidationError, FieldBridgeError) as exc:
        return await _show_site(request, principal, session, site.id, form_problem(exc))
    return _back(site.id)


async def _owned_link(
    request: Request, principal: WebPrincipal, session: SessionDep, link_id: int
) -> tuple[dict[str, str], SafetySiteLink]:
    form = await checked_form(request, principal)
    link = await link_service.get_link(session, principal.company_id, link_id)
    require_web_scope(principal, "safety:write")
    return form, link


@router.post("/safety/links/{link_id}", response_class=HTMLResponse)
async def edit_link(request: Request, link_id: int, principal: WebPrincipal, session: SessionDep) -> Response:
    form, link = await _owned_link(request, principal, session, link_id)
    try:
        async with session.begin_nested():
            link_service.update_link(link, LinkPatch.model_validate(_settings(form)), None, None)
    except (ValidationError, FieldBridgeError) as exc:
        return await _show_site(request, principal, session, link.site_id, form_problem(exc))
    return _back(link.site_id)


@router.post("/safety/links/{link_id}/check", response_class=HTMLResponse)
async def check_link(
    request: Request,
    link_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    _, link = await _owned_link(request, principal, session, link_id)
    connection = await connections_service.get_connection(session, principal.company_id, link.connection_id)
    await session.commit()
    tools = await link_service.check_tools(platform, connection, link.remote_project_id)
    link_service.set_tools(link, tools)
    return _back(link.site_id)


@router.post("/safety/links/{link_id}/delete", response_class=HTMLResponse)
async def remove_link(
    request: Request, link_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    _, link = await _owned_link(request, principal, session, link_id)
    await session.delete(link)
    return _back(link.site_id)


# -- field mapping ---------------------------------------------------------------------------
async def _mapping_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    connection_id: int,
    error: str | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    view = await mapping_service.mapping_view(session, connection)
    return render(
        request,
        "safety_mapping.html",
        principal,
        section="safety",
        connection=connection,
        platform=link_service.platform_name(connection.provider),
        view=view,
        error=error,
        notice=notice,
        status_code=status,
    )


@router.get("/safety/mapping/{connection_id}", response_class=HTMLResponse)
async def mapping_page(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep, refreshed: int = 0
) -> Response:
    notice = "Values fetched from the platform." if refreshed else None
    return await _mapping_page(request, principal, session, connection_id, notice=notice)


@router.post("/safety/mapping/{connection_id}", response_class=HTMLResponse)
async def save_mapping(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    form = await checked_form(request, principal)
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    require_web_scope(principal, "connections:write")
    try:
        entries = [
            MappingEntry(
                category=name.split(":", 2)[1], source_key=name.split(":", 2)[2], remote_value=value or None
            )
            for name, value in form.items()
            if name.startswith("map:") and name.count(":") == 2
        ]
        async with session.begin_nested():
            await mapping_service.save_entries(session, connection, entries)
    except (ValidationError, FieldBridgeError) as exc:
        return await _mapping_page(request, principal, session, connection.id, form_problem(exc), 422)
    return RedirectResponse(f"/safety/mapping/{connection.id}", status_code=303)


@router.post("/safety/mapping/{connection_id}/refresh", response_class=HTMLResponse)
async def refresh_mapping(
    request: Request,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    platform: PlatformDep,
) -> Response:
    await checked_form(request, principal)
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    require_web_scope(principal, "connections:write")
    try:
        mapping_service.flow_of(connection)
        await session.commit()
        fetched = await mapping_service.fetch_values(platform, connection)
        await mapping_service.store_values(session, connection, fetched)
    except FieldBridgeError as exc:
        return await _mapping_page(request, principal, session, connection.id, exc.message, exc.status_code)
    return RedirectResponse(f"/safety/mapping/{connection.id}?refreshed=1", status_code=303)


@router.get("/safety/setup", response_class=HTMLResponse)
async def setup_page(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    checklist = await setup.checklist(session, principal.company_id)
    return render(request, "safety_setup.html", principal, section="safety", checklist=checklist)
