"""All SQL of incidents. Every query of company data takes the company id."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldbridge.accounts.models import Company, Worker
from fieldbridge.incidents.models import Incident, IncidentConflict, IncidentRemote, OshaCaseCounter
from fieldbridge.kit.repository import Repository
from fieldbridge.safety.models import Detection, SafetySite, SafetyZone


class IncidentRepository(Repository):
    @property
    def is_sqlite(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "sqlite"

    async def get(self, company_id: int, incident_id: int) -> Incident | None:
        return await self.session.scalar(
            select(Incident).where(Incident.company_id == company_id, Incident.id == incident_id)
        )

    async def lock(self, company_id: int, incident_id: int) -> Incident | None:
        """The incident, write-locked until this transaction ends and freshly read (a no-op
        UPDATE takes SQLite's write lock first; PostgreSQL locks the row)."""
        if self.is_sqlite:
            await self.session.execute(
                update(Incident)
                .where(Incident.company_id == company_id, Incident.id == incident_id)
                .values(company_id=Incident.company_id)
                .execution_options(synchronize_session=False)
            )
        return await self.session.scalar(
            select(Incident)
            .where(Incident.company_id == company_id, Incident.id == incident_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def for_detection(self, company_id: int, detection_id: int) -> Incident | None:
        return await self.session.scalar(
            select(Incident).where(Incident.company_id == company_id, Incident.detection_id == detection_id)
        )

    async def page(
        self,
        company_id: int,
        *,
        site_id: int | None,
        year: int | None,
        recordable: bool | None,
        after: tuple[datetime, int] | None,
        updated_since: datetime | None,
        limit: int,
    ) -> list[Incident]:
        """A page in (updated_at, id) order: changed since `updated_since`, after the key."""
        stmt = select(Incident).where(Incident.company_id == company_id)
        if site_id is not None:
            stmt = stmt.where(Incident.site_id == site_id)
        if year is not None:
            stmt = stmt.where(Incident.case_year == year)
        if recordable is not None:
            stmt = stmt.where(Incident.recordable == recordable)
        if updated_since is not None:
            stmt = stmt.where(Incident.updated_at >= updated_since)
        if after is not None:
            at, row_id = after
            stmt = stmt.where(
                or_(Incident.updated_at > at, and_(Incident.updated_at == at, Incident.id > row_id))
            )
        stmt = stmt.order_by(Incident.updated_at, Incident.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def numbered(self, company_id: int, site_id: int, year: int) -> Sequence[Incident]:
        """Every incident that holds a case number of the site's log for the year."""
        result = await self.session.scalars(
            select(Incident)
            .where(
                Incident.company_id == company_id,
                Incident.site_id == site_id,
                Incident.case_year == year,
                Incident.case_number.is_not(None),
            )
            .order_by(Incident.case_number)
        )
        return result.all()

    async def allocate_case_number(self, company_id: int, site_id: int, year: int) -> int:
        """The next case number of the site's log for the year, in one atomic upsert. The
        counter row stays locked until this transaction ends, so concurrent confirmations
        queue here; a rollback returns the number with it (no gaps, no duplicates)."""
        insert = sqlite_insert if self.is_sqlite else pg_insert
        counters = OshaCaseCounter.__table__
        stmt = (
            insert(OshaCaseCounter)
            .values(company_id=company_id, site_id=site_id, year=year, last_number=1)
            .on_conflict_do_update(
                index_elements=[counters.c.site_id, counters.c.year],
                set_={"last_number": counters.c.last_number + 1},
            )
            .returning(counters.c.last_number)
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def site(self, company_id: int, site_id: int) -> SafetySite | None:
        return await self.session.scalar(
            select(SafetySite).where(SafetySite.company_id == company_id, SafetySite.id == site_id)
        )

    async def sites(self, company_id: int) -> Sequence[SafetySite]:
        result = await self.session.scalars(
            select(SafetySite)
            .where(SafetySite.company_id == company_id)
            .order_by(SafetySite.name, SafetySite.id)
        )
        return result.all()

    async def zones(self, company_id: int, site_id: int) -> Sequence[SafetyZone]:
        result = await self.session.scalars(
            select(SafetyZone)
            .where(SafetyZone.company_id == company_id, SafetyZone.site_id == site_id)
            .order_by(SafetyZone.name)
        )
        return result.all()

    async def workers(self, company_id: int, limit: int = 1000) -> Sequence[Worker]:
        result = await self.session.scalars(
            select(Worker)
            .where(Worker.company_id == company_id, Worker.active.is_(True))
            .order_by(Worker.name, Worker.id)
            .limit(limit)
        )
        return result.all()

    async def recent(self, company_id: int, site_id: int | None, limit: int = 200) -> Sequence[Incident]:
        stmt = select(Incident).where(Incident.company_id == company_id)
        if site_id is not None:
            stmt = stmt.where(Incident.site_id == site_id)
        result = await self.session.scalars(
            stmt.order_by(Incident.occurred_on.desc(), Incident.id.desc()).limit(limit)
        )
        return result.all()

    async def zone(self, company_id: int, zone_id: int) -> SafetyZone | None:
        return await self.session.scalar(
            select(SafetyZone).where(SafetyZone.company_id == company_id, SafetyZone.id == zone_id)
        )

    async def worker(self, company_id: int, worker_id: int) -> Worker | None:
        return await self.session.scalar(
            select(Worker).where(Worker.company_id == company_id, Worker.id == worker_id)
        )

    async def detection(self, company_id: int, detection_id: int) -> Detection | None:
        return await self.session.scalar(
            select(Detection).where(Detection.company_id == company_id, Detection.id == detection_id)
        )

    async def company(self, company_id: int) -> Company | None:
        return await self.session.get(Company, company_id)

    async def remotes(self, company_id: int, incident_id: int) -> Sequence[IncidentRemote]:
        rows = await self.session.scalars(
            select(IncidentRemote)
            .where(IncidentRemote.company_id == company_id, IncidentRemote.incident_id == incident_id)
            .order_by(IncidentRemote.id)
        )
        return rows.all()

    async def conflicts(self, company_id: int, incident_id: int) -> Sequence[IncidentConflict]:
        rows = await self.session.scalars(
            select(IncidentConflict)
            .where(IncidentConflict.company_id == company_id, IncidentConflict.incident_id == incident_id)
            .order_by(IncidentConflict.id.desc())
        )
        return rows.all()
