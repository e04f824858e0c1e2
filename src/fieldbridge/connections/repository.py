"""All SQL of connections. Company-scoped, except the by-id reads background jobs use
(a job's scope is the connection it was given)."""

from collections.abc import Sequence

from sqlalchemy import select, update

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.kit.repository import Repository


class ConnectionRepository(Repository):
    async def get(self, company_id: int, connection_id: int) -> Connection | None:
        return await self.session.scalar(
            select(Connection).where(Connection.company_id == company_id, Connection.id == connection_id)
        )

    async def get_for_job(self, connection_id: int) -> Connection | None:
        """By id alone: for clients and jobs whose unit of work is one connection."""
        return await self.session.get(Connection, connection_id, populate_existing=True)

    async def lock_for_job(self, connection_id: int) -> Connection | None:
        """The connection row, write-locked until this transaction ends, freshly re-read.

        PostgreSQL: `SELECT ... FOR UPDATE`. SQLite has no row locks, so a no-op UPDATE first
        takes the database write lock (what `BEGIN IMMEDIATE` would); other processes wait on
        busy_timeout. Either way a second refresher blocks here until the first commits.
        """
        dialect = self.session.bind.dialect.name if self.session.bind is not None else ""
        if dialect == "sqlite":
            await self.session.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(credentials_version=Connection.credentials_version)
                .execution_options(synchronize_session=False)
            )
        return await self.session.scalar(
            select(Connection)
            .where(Connection.id == connection_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def list(self, company_id: int, provider: str | None = None) -> Sequence[Connection]:
        stmt = select(Connection).where(Connection.company_id == company_id)
        if provider is not None:
            stmt = stmt.where(Connection.provider == provider)
        result = await self.session.scalars(stmt.order_by(Connection.created_at, Connection.id))
        return result.all()

    async def list_syncable(self, provider: str) -> Sequence[Connection]:
        """Connected connections of every company (the scheduler's work list)."""
        result = await self.session.scalars(
            select(Connection)
            .where(Connection.provider == provider, Connection.status == ConnectionStatus.connected)
            .order_by(Connection.id)
        )
        return result.all()

    async def add(self, connection: Connection) -> Connection:
        self.session.add(connection)
        await self.session.flush()
        return connection

    async def delete(self, connection: Connection) -> None:
        await self.session.delete(connection)
        await self.session.flush()
