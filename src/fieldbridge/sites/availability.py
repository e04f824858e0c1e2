"""Whether time can go to a project now, why not and since when, and releasing the time held
for a project once it can again.

A project's state changes when a sync or reconcile lists it, when a Procore webhook about it
is processed, or when a delivery to it is refused for that reason (inactive, no access): each
calls `set_state`. Exports waiting for a project are held under `project_key(remote id)`;
whenever the project is tracked and reachable they are released, so the next sync repairs a
release that was missed. Functions take a session and never commit.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.delivery import service as delivery
from fieldbridge.delivery.recording import PROJECT_UNAVAILABLE
from fieldbridge.kit.clock import utcnow
from fieldbridge.sites.holds import INACTIVE, exclusion_reason, project_key
from fieldbridge.sites.models import Project
from fieldbridge.sites.repository import SitesRepository


def sendable(project: Project) -> bool:
    return bool(project.sync_enabled) and project.excluded_reason is None


async def set_state(
    session: AsyncSession,
    project: Project,
    *,
    active: bool | None = None,
    permitted: bool | None = None,
    removed: bool | None = None,
) -> int:
    """Apply what was learned; note when the project became unreachable; release what was held
    for it once it is tracked and reachable. Returns how many held exports were released."""
    if active is not None:
        project.active = active
    if permitted is not None:
        project.permitted = permitted
    if removed is not None:
        project.removed = removed
    reason = exclusion_reason(active=project.active, permitted=project.permitted, removed=project.removed)
    if reason is None:
        project.excluded_since = None
    elif project.excluded_reason is None or project.excluded_since is None:
        project.excluded_since = utcnow()
    project.excluded_reason = reason
    return await release_if_sendable(session, project)


async def release_if_sendable(session: AsyncSession, project: Project) -> int:
    if not sendable(project):
        return 0
    return await delivery.release(session, project.company_id, project_key(project.external_id))


async def remote_project_unavailable(
    session: AsyncSession, connection_id: int, remote_project_id: str, state: str
) -> None:
    """A refused delivery revealed it: the picker hides the project and the sync page says why."""
    repo = SitesRepository.from_session(session)
    project = await repo.project_by_external(connection_id, remote_project_id)
    if project is None:
        return
    if state == INACTIVE:
        await set_state(session, project, active=False)
    else:
        await set_state(session, project, permitted=False)


if remote_project_unavailable not in PROJECT_UNAVAILABLE:
    PROJECT_UNAVAILABLE.append(remote_project_unavailable)
