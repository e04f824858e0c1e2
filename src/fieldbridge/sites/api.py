"""REST routes of the sites domain under /api/v1: projects and their sync toggles, milestones,
categories, the clock-in milestone tree, Procore people and the worker mapping."""

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, status

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service as connections_service
from fieldbridge.kit.crypto import SecretBox
from fieldbridge.kit.db import Database
from fieldbridge.kit.deps import DatabaseDep, HttpDep, SessionDep, SettingsDep
from fieldbridge.kit.http import HttpClients
from fieldbridge.kit.pagination import Page, PageParams, page_params
from fieldbridge.settings import Settings
from fieldbridge.sites import people, service, tasks
from fieldbridge.sites.repository import SitesRepository
from fieldbridge.sites.schemas import (
    CategoryOut,
    CategoryPatch,
    CreateWorkersIn,
    CreateWorkersOut,
    MilestoneOut,
    MilestonePatch,
    MilestoneTree,
    PersonOut,
    PersonPatch,
    ProjectOut,
    ProjectView,
    SyncJobOut,
    SyncToggleIn,
    SyncToggleOut,
)

router = APIRouter(tags=["projects"])

ProjectsRead = Annotated[Principal, Depends(require(Scope.projects_read), scope="function")]
ProjectsWrite = Annotated[Principal, Depends(require(Scope.projects_write), scope="function")]
WorkersRead = Annotated[Principal, Depends(require(Scope.workers_read), scope="function")]
WorkersWrite = Annotated[Principal, Depends(require(Scope.workers_write), scope="function")]
ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]
ConnectionsWrite = Annotated[Principal, Depends(require(Scope.connections_write), scope="function")]


def schedule_queued(background: BackgroundTasks, db: Database, http: HttpClients, settings: Settings) -> None:
    """Run queued project syncs once this request has committed."""
    background.add_task(tasks.sync_queued, db, http, SecretBox(settings.secret), base_url=settings.base_url)


def schedule_requested(
    background: BackgroundTasks, db: Database, http: HttpClients, settings: Settings
) -> None:
    """Run requested connection syncs once this request has committed (else the scheduler does)."""
    background.add_task(
        tasks.run_requested_syncs, db, http, SecretBox(settings.secret), base_url=settings.base_url
    )


@router.get("/projects", response_model=Page[ProjectOut], summary="List Procore projects")
async def list_projects(
    principal: ProjectsRead,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="name or project number")] = None,
    view: ProjectView = "all",
    connection_id: int | None = None,
) -> Page[ProjectOut]:
    rows, total = await SitesRepository.from_session(session).projects_page(
        principal.company_id,
        connection_id=connection_id,
        q=q,
        view=view,
        offset=paging.offset,
        limit=paging.per_page,
    )
    items = [ProjectOut.model_validate(p) for p in rows]
    return Page(items=items, total=total, page=paging.page, per_page=paging.per_page)


@router.post("/projects/sync", response_model=SyncToggleOut, summary="Turn project sync on or off")
async def toggle_sync(
    body: SyncToggleIn,
    principal: ProjectsWrite,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> SyncToggleOut:
    """Turning a project on starts its first sync (watch `sync_state` / `sync_progress`)."""
    result = await service.set_sync(session, principal.company_id, body.project_ids, body.enabled)
    if body.enabled and result.changed:
        schedule_queued(background, db, http, settings)
    return result


@router.get("/projects/{project_id}", response_model=ProjectOut)
async def get_project(project_id: int, principal: ProjectsRead, session: SessionDep) -> ProjectOut:
    return ProjectOut.model_validate(await service.get_project(session, principal.company_id, project_id))


@router.post("/projects/{project_id}/resync", response_model=ProjectOut, summary="Sync one project again")
async def resync_project(
    project_id: int,
    principal: ProjectsWrite,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> ProjectOut:
    project = await service.queue_sync(session, principal.company_id, project_id)
    schedule_queued(background, db, http, settings)
    return ProjectOut.model_validate(project)


@router.post(
    "/connections/{connection_id}/sync",
    response_model=SyncJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Sync a connection now (as a job)",
)
async def sync_now(
    connection_id: int,
    principal: ConnectionsWrite,
    session: SessionDep,
    db: DatabaseDep,
    http: HttpDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> SyncJobOut:
    """Lists the company's projects (new, inactive, not permitted) and re-syncs tracked ones,
    after this request: poll `GET` on the same path until `state` is `done` or `failed`."""
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    job = tasks.request_sync(connection, discover_only=False)
    await session.commit()  # the job must see the request (and SQLite has one writer)
    schedule_requested(background, db, http, settings)
    return _sync_job_out(connection_id, job)


@router.get("/connections/{connection_id}/sync", response_model=SyncJobOut, summary="The last sync-now job")
async def sync_job(connection_id: int, principal: ConnectionsRead, session: SessionDep) -> SyncJobOut:
    connection = await connections_service.get_connection(session, principal.company_id, connection_id)
    return _sync_job_out(connection_id, tasks.sync_job(connection))


def _sync_job_out(connection_id: int, job: dict[str, Any]) -> SyncJobOut:
    state = (
        job.get("state", "none") if job.get("state") != "running" or tasks.sync_job_pending(job) else "queued"
    )
    return SyncJobOut.model_validate({**job, "connection_id": connection_id, "state": state})


@router.get("/milestones/tree", response_model=MilestoneTree, summary="Parent job → sub job → milestone")
async def milestone_tree(
    principal: ProjectsRead,
    session: SessionDep,
    project_id: Annotated[list[int] | None, Query(description="limit to these projects")] = None,
) -> MilestoneTree:
    """What the clock-in picker shows: tracked projects, their sub jobs, and visible labor milestones."""
    return await service.milestone_tree(session, principal.company_id, project_id)


@router.get("/projects/{project_id}/milestones", response_model=list[MilestoneOut])
async def list_milestones(
    project_id: int, principal: ProjectsRead, session: SessionDep, include_hidden: bool = True
) -> list[MilestoneOut]:
    await service.get_project(session, principal.company_id, project_id)
    rows = await SitesRepository.from_session(session).milestones(
        principal.company_id, [project_id], visible_only=not include_hidden
    )
    return [MilestoneOut.model_validate(m) for m in rows]


@router.patch("/milestones/{milestone_id}", response_model=MilestoneOut, summary="Rename or hide a milestone")
async def update_milestone(
    milestone_id: int, body: MilestonePatch, principal: ProjectsWrite, session: SessionDep
) -> MilestoneOut:
    return MilestoneOut.model_validate(
        await service.update_milestone(session, principal.company_id, milestone_id, body)
    )


@router.get("/categories", response_model=list[CategoryOut], summary="Procore categories (cost types)")
async def list_categories(principal: ProjectsRead, session: SessionDep) -> list[CategoryOut]:
    rows = await SitesRepository.from_session(session).line_item_types(principal.company_id)
    return [CategoryOut.model_validate(c) for c in rows]


@router.patch(
    "/categories/{category_id}", response_model=CategoryOut, summary="Choose whether it counts as labor"
)
async def update_category(
    category_id: int, body: CategoryPatch, principal: ProjectsWrite, session: SessionDep
) -> CategoryOut:
    return CategoryOut.model_validate(
        await service.set_category_labor(session, principal.company_id, category_id, body.labor)
    )


@router.get("/procore-people", response_model=Page[PersonOut], summary="Procore people and their workers")
async def list_people(
    principal: WorkersRead,
    session: SessionDep,
    paging: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100)] = None,
    unmatched: bool = False,
) -> Page[PersonOut]:
    rows, total = await SitesRepository.from_session(session).people_page(
        principal.company_id, q=q, unmatched=unmatched, offset=paging.offset, limit=paging.per_page
    )
    return Page(
        items=[PersonOut.model_validate(p) for p in rows],
        total=total,
        page=paging.page,
        per_page=paging.per_page,
    )


@router.patch("/procore-people/{person_id}", response_model=PersonOut, summary="Link a person to a worker")
async def link_person(
    person_id: int, body: PersonPatch, principal: WorkersWrite, session: SessionDep
) -> PersonOut:
    person = await people.set_worker(session, principal.company_id, person_id, body.worker_id)
    return PersonOut.model_validate(person)


@router.post(
    "/procore-people/create-workers", response_model=CreateWorkersOut, summary="Create workers from people"
)
async def create_workers(
    body: CreateWorkersIn, principal: WorkersWrite, session: SessionDep, settings: SettingsDep
) -> CreateWorkersOut:
    created = await people.create_workers_for_unmatched(
        session, settings, principal.company_id, body.person_ids
    )
    return CreateWorkersOut(created=created)
