"""A company's past for the benches: weeks of closed, delivered shifts before the run, and
PostgreSQL's statistics of the tables seeded, as a database in use has both. Without them the
plans PostgreSQL makes for the phone's statements (generic plans, made once per connection)
are made for empty tables, and walk a company's every shift once the run has added some."""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fieldbridge.settings import Settings

DAYS = 14


async def seed(
    session: Any, company_id: int, connection_id: int, project_id: int, milestone_id: int,
    worker_ids: Sequence[int], days: int,
) -> None:  # fmt: skip
    """`days` of closed, delivered shifts for every worker before today, as a company at 7 AM
    has them (and so do PostgreSQL's statistics of its tables)."""
    from sqlalchemy import insert

    from fieldbridge.delivery.models import Delivery
    from fieldbridge.timekeeping.models import ClockShift

    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for day in range(1, days + 1):
        start = today - timedelta(days=day)
        shifts, rows = [], []
        for worker_id in worker_ids:
            client_id = uuid.uuid4().hex
            subject = f"clock_shift:{client_id}"
            shifts.append(
                {
                    "company_id": company_id,
                    "client_id": client_id,
                    "clock_in_id": uuid.uuid4().hex,
                    "worker_id": worker_id,
                    "clocked_in_by_id": worker_id,
                    "project_id": project_id,
                    "milestone_id": milestone_id,
                    "place": "Bench Tower",
                    "work_date": start.date(),
                    "time_zone": "UTC",
                    "started_at": start,
                    "ended_at": start + timedelta(hours=8),
                    "break_minutes": 30,
                    "worked_centihours": 750,
                    "injured": False,
                    "clock_out_id": uuid.uuid4().hex,
                    "status": "closed",
                    "connection_id": connection_id,
                    "export_subjects": [subject],
                    "created_at": start,
                    "updated_at": start,
                }
            )
            rows.append(
                {
                    "company_id": company_id,
                    "connection_id": connection_id,
                    "kind": "procore.timecard.create",
                    "subject": subject,
                    "payload": {},
                    "idempotency_key": uuid.uuid4().hex,
                    "status": "delivered",
                    "attempts": 1,
                    "next_attempt_at": start,
                    "expires_at": start + timedelta(days=7),
                    "outcome_unknown": False,
                    "worker_id": worker_id,
                    "delivered_at": start,
                    "created_at": start,
                    "updated_at": start,
                }
            )
        await session.execute(insert(ClockShift), shifts)
        await session.execute(insert(Delivery), rows)


def analyze(settings: Settings) -> None:
    """PostgreSQL's statistics for the tables just seeded, as a database in use has them: plans
    made without any (a bench database a moment old) walk whole indexes."""
    from sqlalchemy import text

    from fieldbridge.kit.db import Database

    async def analyze() -> None:
        db = Database(settings.database_url)
        try:
            async with db.engine.connect() as conn:
                await conn.execute(text("ANALYZE"))
        finally:
            await db.dispose()

    if not settings.is_sqlite:
        asyncio.run(analyze())
