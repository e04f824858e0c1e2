"""Time events for outbound webhooks (`webhooks.events`): built from a shift, emitted in the
transaction that changed it. Nothing is built when no endpoint of the company takes the type."""

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.models import Worker
from fieldbridge.connections.connector import Delivered, Result
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.cache import MISSING, ProcessCache
from fieldbridge.sites.models import Project
from fieldbridge.timekeeping.models import ClockShift
from fieldbridge.timekeeping.repository import ShiftRepository
from fieldbridge.webhooks import service as webhooks


def hours(centihours: int | None) -> str:
    value = centihours or 0
    return f"{value // 100}.{value % 100:02d}"


# Whether a company's endpoints take "shift.closed", across requests (`kit/cache.py`): every
# clock-out asks, and endpoints (and the connections they go through) change rarely.
_WANTS: ProcessCache[int, bool] = ProcessCache(
    "timekeeping.wants_shift_closed", tables={"webhook_endpoints", "connections"}
)


async def wants_shift_closed(session: AsyncSession, company_id: int) -> bool:
    cached = _WANTS.get(session, company_id)
    if cached is not MISSING:
        return cached
    stamp = _WANTS.stamp(session)
    found = await webhooks.wants(session, company_id, "shift.closed")
    _WANTS.put(session, company_id, found, stamp)
    return found


def cached_wants_shift_closed(engine: Engine, company_id: int) -> bool | None:
    """Whether the company's endpoints take "shift.closed", when the process cache knows."""
    cached = _WANTS.peek(engine, company_id)
    return None if cached is MISSING else cached


async def shift_closed(session: AsyncSession, shift: ClockShift) -> None:
    if shift.ended_at is None or not await wants_shift_closed(session, shift.company_id):
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


def _exported_hours(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(hours, date) a timecard row carried: a create's fields or an update's changes."""
    fields = payload.get("changes") if "changes" in payload else payload
    if not isinstance(fields, Mapping):
        return None, None
    hours, day = fields.get("hours"), fields.get("date") or payload.get("date")
    try:
        exact = None if hours is None else f"{Decimal(str(hours)):.2f}"
    except InvalidOperation:
        exact = None
    return exact, (str(day) if day else None)


async def timecards_delivered(session: AsyncSession, outcomes: Sequence[tuple[Delivery, Result]]) -> None:
    """`timecard.exported` for each timecard row that reached the platform with a closed
    shift's hours (not the 0-hour entry of a shift still on the clock, nor a line set to 0).
    Called by the timecard handlers' `after_record`, in the transaction that records it."""
    done = [(row, r) for row, r in outcomes if isinstance(r, Delivered)]
    if not done or not await webhooks.wants(session, done[0][0].company_id, "timecard.exported"):
        return
    company_id = done[0][0].company_id
    client_ids = {row.subject.split(":")[1] for row, _r in done if row.subject.startswith("clock_shift:")}
    shifts = {
        s.client_id: s
        for s in await ShiftRepository.from_session(session).by_client_ids(company_id, sorted(client_ids))
    }
    for row, result in done:
        parts = row.subject.split(":")
        shift = shifts.get(parts[1]) if len(parts) > 1 else None
        hours, day = _exported_hours(row.payload)
        if shift is None or shift.ended_at is None or hours is None or Decimal(hours) <= 0:
            continue
        worker = await session.get(Worker, shift.worker_id)
        await webhooks.emit(
            session,
            company_id,
            "timecard.exported",
            {
                "shift_id": shift.id,
                "worker": {
                    "id": shift.worker_id,
                    "employee_id": worker.employee_id if worker else None,
                    "name": worker.name if worker else None,
                },
                "platform": row.kind.split(".", 1)[0],
                "remote_project_id": row.remote_project_id,
                "remote_id": None if result.remote_id is None else str(result.remote_id),
                "date": day,
                "hours": hours,
                "delivery_id": row.id,
            },
        )
