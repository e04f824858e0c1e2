"""Admin pages of project sync: projects (search, filter, paginate, toggles, progress), the
milestone tree (hide, rename, labor categories), and Procore people -> workers."""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.repository import WorkerRepository
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service as connections_service
from fieldbridge.connections.connector import installed_registry
from fieldbridge.connections.models import Connection
from fieldbridge.kit.deps import DatabaseDep, HttpDep, SessionDep, SettingsDep
from fieldbridge.kit.errors import NotFound
from fieldbridge.sites import people, service, tasks
from fieldbridge.sites.api import schedule_queued, schedule_requested
from fieldbridge.sites.models import SyncState
from fieldbridge.sites.repository import PROJECT_VIEWS, SitesRepository
from fieldbridge.sites.schemas import MilestonePatch
from fieldbridge.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/settings/integrations/procore/{connection_id}"
# The project pages serve every connector with project sync (Procore, ACC): the provider in the
# path must be the connection's.
PROJECTS_BASE = "/settings/integrations/{provider}/{connection_id}"
PER_PAGE = 50
BUSY = (SyncState.queued, SyncState.running)


def _ids(form_values: list[Any]) -> list[int]:
    return [int(v) for v in form_values if isinstance(v, str) and v.isdigit()]


async def _synced_connection(
    session: SessionDep, principal: WebPrincipal, provider: str, connection_id: int
) -> Connection:
    """The company's connection of this provider, whose connector syncs projects (else a 404)."""
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    spec = installed_registry().specs.get(connection.provider)
    if connection.provider != provider or spec is None or spec.project_sync is None:
        raise NotFound("That connection does not exist.")
    return connection


async def _projects_context(
    session: SessionDep, principal: WebPrincipal, connection_id: int, view: str, q: str, page: int
) -> dict[str, Any]:
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    repo = SitesRepository.from_session(session)
    view = view if view in PROJECT_VIEWS else "all"
    rows, total = await repo.projects_page(
        principal.company_id,
        connection_id=connection_id,
        q=q or None,
        view=view,
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    counts = {
        v: (await repo.projects_page(principal.company_id, connection_id=connection_id, view=v, limit=0))[1]
        for v in PROJECT_VIEWS
    }
    return {
        "connection": connection,
        "health": connections_service.health(connection),
        "projects": rows,
        "total": total,
        "counts": counts,
        "view": view,
        "q": q,
        "page": page,
        "pages": max(1, -(-total // PER_PAGE)),
        "busy": any(p.sync_state in BUSY for p in rows),
        "steps": installed_registry().project_sync(connection.provider).steps,
        "platform": installed_registry().spec(connection.provider).display_name,
        "base": PROJECTS_BASE.format(provider=connection.provider, connection_id=connection.id),
    }


@router.get(PROJECTS_BASE + "/projects", response_class=HTMLResponse)
async def projects_page(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    view: str = "all",
    q: str = "",
    page: int = 1,
    discover: int = 0,
    fragment: int = 0,
    listing: int = 0,
) -> Response:
    """`discover=1` (right after picking the company, or "Check Procore now") asks for a listing
    of the company's projects as a job; the page polls until it is done, then reloads."""
    connection = await _synced_connection(session, principal, provider, connection_id)
    if discover:
        tasks.request_sync(connection, discover_only=True)
        await session.commit()  # the job must see the request (and SQLite has one writer)
        schedule_requested(background, db, http, settings)
    job = tasks.sync_job(connection)
    pending = tasks.sync_job_pending(job)
    projects_url = f"{PROJECTS_BASE.format(provider=provider, connection_id=connection_id)}/projects"
    if fragment and listing and not pending:  # the listing finished: reload the whole page
        return Response(status_code=204, headers={"HX-Redirect": f"{projects_url}?checked=1"})
    checked = discover or request.query_params.get("checked") == "1"
    error = job.get("error") if checked and job.get("state") == "failed" else None
    context = await _projects_context(
        session, principal, connection_id, view, q[:100], max(1, min(page, 10_000))
    )
    context["listing"] = pending
    context["busy"] = context["busy"] or pending
    template = "_procore_projects_table.html" if fragment else "procore_projects.html"
    return render(request, template, principal, section="integrations", error=error, **context)


@router.post(PROJECTS_BASE + "/projects", response_class=HTMLResponse)
async def toggle_projects(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Response:
    await _synced_connection(session, principal, provider, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.projects_write)
    form = await request.form()
    ids = _ids(form.getlist("project_id"))
    enabled = form.get("action") != "off"
    query = urlencode({"view": str(form.get("view", "all")), "q": str(form.get("q", ""))})
    back = f"{PROJECTS_BASE.format(provider=provider, connection_id=connection_id)}/projects?{query}"
    if ids:
        result = await service.set_sync(session, principal.company_id, ids, enabled)
        if enabled and result.changed:
            schedule_queued(background, db, http, settings)
    return RedirectResponse(back, status_code=303)


@router.post(PROJECTS_BASE + "/sync", response_class=HTMLResponse)
async def sync_now(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
) -> Response:
    await _synced_connection(session, principal, provider, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.projects_write)
    return RedirectResponse(
        f"{PROJECTS_BASE.format(provider=provider, connection_id=connection_id)}/projects?discover=1",
        status_code=303,
    )


@router.get(BASE + "/milestones", response_class=HTMLResponse)
async def milestones_page(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    repo = SitesRepository.from_session(session)
    tree = await service.milestone_tree(session, principal.company_id)
    projects, _ = await repo.projects_page(
        principal.company_id, connection_id=connection_id, view="tracked", limit=1000
    )
    all_milestones = await repo.milestones(principal.company_id, [p.id for p in projects], visible_only=False)
    mine = {p.id for p in projects}
    return render(
        request,
        "procore_milestones.html",
        principal,
        section="integrations",
        connection=connection,
        tree=[p for p in tree.projects if p.id in mine],
        projects=projects,
        hidden=[m for m in all_milestones if m.hidden or m.archived],
        categories=await repo.line_item_types(principal.company_id, connection_id),
    )


@router.post(BASE + "/milestones/{milestone_id}", response_class=HTMLResponse)
async def edit_milestone(
    request: Request, connection_id: int, milestone_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await service.get_milestone(session, principal.company_id, milestone_id)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.projects_write)
    patch: dict[str, Any] = {}
    if "display_name" in form:
        patch["display_name"] = form["display_name"][:400]
    if "hidden" in form:
        patch["hidden"] = form["hidden"] == "1"
    await service.update_milestone(session, principal.company_id, milestone_id, MilestonePatch(**patch))
    return RedirectResponse(f"{BASE.format(connection_id=connection_id)}/milestones", status_code=303)


@router.post(BASE + "/categories/{category_id}", response_class=HTMLResponse)
async def edit_category(
    request: Request, connection_id: int, category_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await connections_service.get_connection(session, principal.company_id, connection_id)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.projects_write)
    choice = {"yes": True, "no": False}.get(form.get("labor", ""))
    await service.set_category_labor(session, principal.company_id, category_id, choice)
    return RedirectResponse(f"{BASE.format(connection_id=connection_id)}/milestones", status_code=303)


@router.get(BASE + "/people", response_class=HTMLResponse)
async def people_page(
    request: Request,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    q: str = "",
    unmatched: int = 0,
    page: int = 1,
) -> Response:
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    page = max(1, min(page, 10_000))
    repo = SitesRepository.from_session(session)
    rows, total = await repo.people_page(
        principal.company_id,
        q=q[:100] or None,
        unmatched=bool(unmatched),
        offset=(page - 1) * PER_PAGE,
        limit=PER_PAGE,
    )
    workers, _ = await WorkerRepository.from_session(session).list(
        principal.company_id, active=True, limit=5000
    )
    return render(
        request,
        "procore_people.html",
        principal,
        section="integrations",
        connection=connection,
        people=rows,
        total=total,
        q=q,
        unmatched=unmatched,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        workers=workers,
        conflicts=await repo.count_conflicts(principal.company_id, connection_id),
    )


@router.post(BASE + "/people", response_class=HTMLResponse)
async def people_action(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    await connections_service.get_connection(session, principal.company_id, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.workers_write)
    form = await request.form()
    if form.get("action") == "create":
        await people.create_workers_for_unmatched(
            session, settings, principal.company_id, _ids(form.getlist("person_id"))
        )
    else:
        person_id = _ids([form.get("person")])
        if person_id:
            worker = str(form.get(f"worker_for_{person_id[0]}", form.get("worker_id", "")))
            worker_id = int(worker) if worker.isdigit() else None
            await people.set_worker(session, principal.company_id, person_id[0], worker_id)
    return RedirectResponse(f"{BASE.format(connection_id=connection_id)}/people", status_code=303)
