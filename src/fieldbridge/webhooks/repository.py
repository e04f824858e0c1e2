"""All SQL of webhook endpoints and their message log; every query takes the company id."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.delivery.models import Delivery, DeliveryAttempt
from fieldbridge.delivery.states import Status
from fieldbridge.kit.repository import Repository
from fieldbridge.webhooks.models import WebhookEndpoint

KIND = "webhook.deliver"
RECOVERABLE = (Status.failed, Status.rejected)


class WebhookRepository(Repository):
    async def add(self, connection: Connection, endpoint: WebhookEndpoint) -> WebhookEndpoint:
        self.session.add(connection)
        await self.session.flush()
        endpoint.connection_id = connection.id
        self.session.add(endpoint)
        await self.session.flush()
        return endpoint

    async def get(self, company_id: int, endpoint_id: int) -> tuple[WebhookEndpoint, Connection] | None:
        row = (
            await self.session.execute(
                select(WebhookEndpoint, Connection)
                .join(Connection, Connection.id == WebhookEndpoint.connection_id)
                .where(WebhookEndpoint.company_id == company_id, WebhookEndpoint.id == endpoint_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def by_connection(self, connection_id: int) -> tuple[WebhookEndpoint, Connection] | None:
        row = (
            await self.session.execute(
                select(WebhookEndpoint, Connection)
                .join(Connection, Connection.id == WebhookEndpoint.connection_id)
                .where(WebhookEndpoint.connection_id == connection_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def list(self, company_id: int) -> Sequence[tuple[WebhookEndpoint, Connection]]:
        rows = await self.session.execute(
            select(WebhookEndpoint, Connection)
            .join(Connection, Connection.id == WebhookEndpoint.connection_id)
            .where(WebhookEndpoint.company_id == company_id)
            .order_by(WebhookEndpoint.id)
        )
        return [(e, c) for e, c in rows.all()]

    async def enabled(self, company_id: int) -> Sequence[tuple[WebhookEndpoint, Connection]]:
        rows = await self.session.execute(
            select(WebhookEndpoint, Connection)
            .join(Connection, Connection.id == WebhookEndpoint.connection_id)
            .where(
                WebhookEndpoint.company_id == company_id,
                Connection.status == ConnectionStatus.connected,
            )
            .order_by(WebhookEndpoint.id)
        )
        return [(e, c) for e, c in rows.all()]

    async def messages(
        self, company_id: int, connection_id: int | None, *, offset: int, limit: int
    ) -> tuple[Sequence[Delivery], int]:
        where = [Delivery.company_id == company_id, Delivery.kind == KIND]
        if connection_id is not None:
            where.append(Delivery.connection_id == connection_id)
        total = await self.session.scalar(select(func.count()).select_from(Delivery).where(*where))
        rows = await self.session.scalars(
            select(Delivery).where(*where).order_by(Delivery.id.desc()).offset(offset).limit(limit)
        )
        return rows.all(), int(total or 0)

    async def message(self, company_id: int, delivery_id: int) -> Delivery | None:
        return await self.session.scalar(
            select(Delivery).where(
                Delivery.company_id == company_id, Delivery.id == delivery_id, Delivery.kind == KIND
            )
        )

    async def attempts(self, company_id: int, delivery_id: int) -> Sequence[DeliveryAttempt]:
        rows = await self.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.company_id == company_id, DeliveryAttempt.delivery_id == delivery_id)
            .order_by(DeliveryAttempt.number, DeliveryAttempt.id)
        )
        return rows.all()

    async def failed_since(
        self, company_id: int, connection_id: int, since: datetime, limit: int
    ) -> Sequence[Delivery]:
        rows = await self.session.scalars(
            select(Delivery)
            .where(
                Delivery.company_id == company_id,
                Delivery.connection_id == connection_id,
                Delivery.kind == KIND,
                Delivery.status.in_(RECOVERABLE),
                Delivery.created_at >= since,
            )
            .order_by(Delivery.id)
            .limit(limit)
            .with_for_update()
        )
        return rows.all()
