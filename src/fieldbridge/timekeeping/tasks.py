"""Job entry points of timekeeping: thin wrappers that open a session and call `_do_x`.

`timekeeping.resend_unsent(company_id, worker_id)`: export again every recent shift of a worker
that Procore refused or that was cancelled. (Time held for a missing Procore person or an
unreachable project is not resent from here: it is released where the cause is fixed, see
`delivery.service.release`.) Tests call `_do_resend_unsent` against the real database.
"""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.timekeeping import export, service
from fieldbridge.timekeeping.repository import ShiftRepository

RESEND_WINDOW = timedelta(days=30)


async def _do_resend_unsent(session: AsyncSession, company_id: int, worker_id: int) -> int:
    """Shifts of the worker from the last 30 days whose export was refused or cancelled are sent
    again; returns how many."""
    repo = ShiftRepository.from_session(session)
    shifts = [
        s
        for s in await repo.mine(company_id, worker_id, utcnow() - RESEND_WINDOW, limit=500)
        if s.worker_id == worker_id
    ]
    rows = await repo.deliveries(company_id, [subject for s in shifts for subject in s.export_subjects])
    sent = 0
    for shift in shifts:
        mine = [r for subject in shift.export_subjects for r in rows if r.subject == subject]
        state, _ = export.status_of(mine, shift.connection_id is not None)
        if state == "not_sent" and shift.connection_id is not None:
            await service.reexport(session, shift)
            sent += 1
    return sent


async def resend_unsent(db: Database, company_id: int, worker_id: int) -> int:
    async with db.transaction() as session:
        return await _do_resend_unsent(session, company_id, worker_id)
