"""All SQL of the inbound event log."""

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from fieldbridge.inbound.models import InboundEvent
from fieldbridge.kit.repository import Repository


class InboundRepository(Repository):
    async def insert_new(self, values: dict[str, object]) -> int | None:
        """Insert one event unless its (connection, dedupe key) is already recorded; the new
        row's id, or None for a duplicate (also when another process raced it in)."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(InboundEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["connection_id", "dedupe_key"])
            .returning(InboundEvent.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_for_job(self, event_id: int) -> InboundEvent | None:
        """Jobs only: by id, without a company (the job was handed the id)."""
        return await self.session.get(InboundEvent, event_id)
