"""Rules of the sites domain: project toggles, milestone edits, labor categories, the tree.
Functions take a session and never commit."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.errors import NotFound
from fieldbridge.sites import availability
from fieldbridge.sites.models import LineItemType, Milestone, Project, SyncState
from fieldbridge.sites.repository import SitesRepository
from fieldbridge.sites.schemas import (
    MilestonePatch,
    MilestoneTree,
    SyncToggleOut,
    TreeMilestone,
    TreeProject,
    TreeSubJob,
)

NO_SUB_JOB = "Project (no sub job)"


async def get_project(session: AsyncSession, company_id: int, project_id: int) -> Project:
    project = await SitesRepository.from_session(session).project(company_id, project_id)
    if project is None:
        raise NotFound("No such project in this company.")
    return project


async def set_sync(
    session: AsyncSession, company_id: int, project_ids: Sequence[int], enabled: bool
) -> SyncToggleOut:
    """Track (or stop tracking) projects. Turning one on queues its first sync and releases the
    time held for it; excluded projects are skipped with their reason. Turning off keeps
    everything already mirrored."""
    repo = SitesRepository.from_session(session)
    projects = await repo.projects_by_ids(company_id, list(dict.fromkeys(project_ids)))
    if len(projects) != len(set(project_ids)):
        raise NotFound("One or more projects are not in this company.")
    changed = 0
    skipped = []
    for project in projects:
        if enabled and project.excluded_reason:
            skipped.append({"id": project.id, "name": project.name, "reason": project.excluded_reason})
            continue
        if project.sync_enabled == enabled:
            continue
        project.sync_enabled = enabled
        project.sync_state = SyncState.queued if enabled else SyncState.off
        project.sync_error = None
        if enabled:
            project.sync_progress = {}
            await availability.release_if_sendable(session, project)
        changed += 1
    return SyncToggleOut(changed=changed, skipped=skipped)


async def queue_sync(session: AsyncSession, company_id: int, project_id: int) -> Project:
    project = await get_project(session, company_id, project_id)
    if project.sync_enabled and not project.excluded_reason:
        project.sync_state = SyncState.queued
    return project


async def get_milestone(session: AsyncSession, company_id: int, milestone_id: int) -> Milestone:
    milestone = await SitesRepository.from_session(session).milestone(company_id, milestone_id)
    if milestone is None:
        raise NotFound("No such milestone in this company.")
    return milestone


async def update_milestone(
    session: AsyncSession, company_id: int, milestone_id: int, data: MilestonePatch
) -> Milestone:
    milestone = await get_milestone(session, company_id, milestone_id)
    fields = data.model_dump(exclude_unset=True)
    if "display_name" in fields:
        milestone.display_name = (fields["display_name"] or "").strip() or None
    if fields.get("hidden") is not None:
        milestone.hidden = bool(fields["hidden"])
    return milestone


async def set_category_labor(
    session: AsyncSession, company_id: int, category_id: int, labor: bool | None
) -> LineItemType:
    category = await SitesRepository.from_session(session).line_item_type(company_id, category_id)
    if category is None:
        raise NotFound("No such category in this company.")
    category.labor_override = labor
    return category


async def milestone_tree(
    session: AsyncSession, company_id: int, project_ids: Sequence[int] | None = None
) -> MilestoneTree:
    """Tracked projects -> sub jobs -> visible milestones of labor categories."""
    repo = SitesRepository.from_session(session)
    projects, _ = await repo.projects_page(company_id, view="tracked", limit=10_000)
    if project_ids is not None:
        wanted = set(project_ids)
        projects = [p for p in projects if p.id in wanted]
    ids = [p.id for p in projects]
    labor = {c.external_id for c in await repo.line_item_types(company_id) if c.labor}
    subs = {s.id: s for s in await repo.sub_jobs(company_id, ids)}
    grouped: dict[int, dict[int | None, list[TreeMilestone]]] = defaultdict(lambda: defaultdict(list))
    for m in await repo.milestones(company_id, ids, visible_only=True):
        if m.line_item_type_external_id in labor:
            grouped[m.project_id][m.sub_job_id].append(
                TreeMilestone(id=m.id, name=m.label, key=m.key, budgeted_hours=m.budgeted_hours)
            )
    out = []
    for p in projects:
        branches = grouped.get(p.id, {})
        sub_jobs = [
            TreeSubJob(
                id=sid,
                name=subs[sid].name if sid is not None and sid in subs else NO_SUB_JOB,
                milestones=sorted(ms, key=lambda m: m.name),
            )
            for sid, ms in branches.items()
        ]
        sub_jobs.sort(key=lambda s: (s.id is not None, s.name))
        out.append(TreeProject(id=p.id, name=p.name, project_number=p.project_number, sub_jobs=sub_jobs))
    return MilestoneTree(projects=out)
