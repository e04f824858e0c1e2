"""Echo's local-time job: at 17:00 in each project's zone, one daily note per connected Echo
account of the project's company, through the ledger (`echo.note.create`). The run key makes it
once per (project, local date); the ledger delivers it once."""

from sqlalchemy import select

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.service import enqueue
from fieldbridge.jobs.registry import LocalRun, at_local_time

JOB = "echo.daily_note"
KIND = "echo.note.create"  # served by connector.NoteCreate


@at_local_time(JOB, "17:00")
async def daily_note(run: LocalRun) -> None:
    project = run.project
    connections = await run.session.scalars(
        select(Connection.id)
        .where(
            Connection.company_id == project.company_id,
            Connection.provider == "echo",
            Connection.status == ConnectionStatus.connected,
        )
        .order_by(Connection.id)
    )
    for connection_id in connections:
        await enqueue(
            run.session,
            company_id=project.company_id,
            connection_id=connection_id,
            kind=KIND,
            subject=f"project:{project.id}:daily_note",
            payload={
                "title": f"{project.name}: daily note for {run.local_date.isoformat()}",
                "body": f"Scheduled for {run.scheduled_at.isoformat()} (17:00 local).",
            },
            idempotency_key=f"{JOB}:{project.id}:{run.local_date.isoformat()}",
        )
