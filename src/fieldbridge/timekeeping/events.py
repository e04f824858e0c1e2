"""Time events for outbound webhooks (`webhooks.events`): built from a shift, emitted in the
transaction that changed it. Nothing is built when no endpoint of the company takes the type."""

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import Worker
from fieldbridge.sites.models import Project
from fieldbridge.timekeeping.models import ClockShift
from fieldbridge.webhooks import service as webhooks


def hours(centihours: int | None) -> str:
    value = centihours or 0
    return f"{value // 100}.{value % 100:02d}"


async def shift_closed(session: AsyncSession, shift: ClockShift) -> None:
    if shift.ended_at is None or not await webhooks.wants(session, shift.company_id, "shift.closed"):
        return
    worker = await session.get(Worker, shift.worker_id)
    project = await session.get(Project, shift.project_id)
    await webhooks.emit(
        session,
        shift.company_id,
        "shift.closed",
        {
            "shift_id": shift.id,
            "worker": {
                "id": shift.worker_id,
                "employee_id": worker.employee_id if worker else None,
                "name": worker.name if worker else None,
            },
            "project": (
                {"id": project.id, "remote_id": project.external_id, "name": project.name}
                if project is not None and project.company_id == shift.company_id
                else None
            ),
            "place": shift.place,
            "work_date": shift.work_date,
            "time_zone": shift.time_zone,
            "started_at": shift.started_at,
            "ended_at": shift.ended_at,
            "break_minutes": shift.break_minutes,
            "worked_hours": hours(shift.worked_centihours),
            "injured": shift.injured,
        },
    )
