"""SQL of local-time jobs. The scan is across companies (a job's work list, like the sync
scheduler's); each run's key and work carry the project's company."""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from fieldbridge.jobs.models import LocalJobRun
from fieldbridge.kit.repository import Repository
from fieldbridge.sites.models import Project


class JobsRepository(Repository):
    async def projects_for_job(self) -> Sequence[Project]:
        """Tracked projects with a time zone, live in Procore (every company's)."""
        return (
            await self.session.scalars(
                select(Project)
                .where(
                    Project.sync_enabled.is_(True),
                    Project.removed.is_(False),
                    Project.time_zone.is_not(None),
                )
                .order_by(Project.id)
            )
        ).all()

    async def ran_keys(self, job_name: str, dates: Sequence[date]) -> set[tuple[int, date]]:
        """(project, local date) keys of `job_name` that have run, among `dates`."""
        rows = await self.session.execute(
            select(LocalJobRun.project_id, LocalJobRun.local_date).where(
                LocalJobRun.job_name == job_name, LocalJobRun.local_date.in_(list(dates))
            )
        )
        return {(project_id, local_date) for project_id, local_date in rows}

    async def claim(
        self,
        job_name: str,
        project: Project,
        local_date: date,
        scheduled_at: datetime,
        ran_at: datetime,
        ran_by: str,
    ) -> bool:
        """Insert the run key; False when another transaction holds it (this one then waited
        for that one to end, on PostgreSQL and SQLite alike)."""
        bind = self.session.bind
        insert = (
            postgresql.insert if bind is not None and bind.dialect.name == "postgresql" else sqlite.insert
        )
        statement = (
            insert(LocalJobRun)
            .values(
                job_name=job_name,
                company_id=project.company_id,
                project_id=project.id,
                local_date=local_date,
                scheduled_at=scheduled_at,
                ran_at=ran_at,
                ran_by=ran_by,
            )
            .on_conflict_do_nothing(index_elements=["job_name", "project_id", "local_date"])
            .returning(LocalJobRun.id)
        )
        return (await self.session.scalar(statement)) is not None
