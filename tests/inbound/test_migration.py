"""0014_inbound moves the Procore webhook log into inbound_events, and back on a downgrade."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import bindparam, text

from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database, UTCDateTime
from fieldbridge.kit.migrate import alembic_config, upgrade_async
from fieldbridge.settings import Settings
from tests.factories import create_tenant

AT = datetime(2026, 11, 30, 10, tzinfo=UTC)
INSERT_OLD = text(
    "INSERT INTO procore_webhook_events (company_id, connection_id, ulid, resource_name, event_type,"
    " resource_id, project_external_id, received_at, processed_at, outcome) VALUES"
    " (:company, :connection, :ulid, 'Cost Codes', 'update', :resource, 562949953421312,"
    " :received, :processed, :outcome)"
).bindparams(bindparam("received", type_=UTCDateTime()), bindparam("processed", type_=UTCDateTime()))


async def test_webhook_events_survive_the_upgrade_and_the_downgrade(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
    await upgrade_async(url, "0012_jobs")
    db = Database(url)
    try:
        tenant = await create_tenant(db, settings)
        async with db.transaction() as session:
            connection = Connection(company_id=tenant.company.id, provider="procore", label="Procore")
            session.add(connection)
            await session.flush()
            ids = {"company": tenant.company.id, "connection": connection.id}
            await session.execute(
                INSERT_OLD,
                {**ids, "ulid": "01JA", "resource": 7, "received": AT, "processed": None, "outcome": None},
            )
            await session.execute(
                INSERT_OLD,
                {
                    **ids,
                    "ulid": "01JB",
                    "resource": None,
                    "received": AT,
                    "processed": AT,
                    "outcome": "done",
                },
            )
        await upgrade_async(url, "heads")
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT provider, resource, remote_id, remote_project_id, dedupe_key, state, outcome"
                        " FROM inbound_events ORDER BY id"
                    )
                )
            ).all()
        assert [tuple(r) for r in rows] == [
            ("procore", "Cost Codes", "7", "562949953421312", "01JA", "received", None),
            ("procore", "Cost Codes", None, "562949953421312", "01JB", "applied", "done"),
        ]
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0014_inbound-1")
        async with db.transaction() as session:
            back = (
                await session.execute(
                    text(
                        "SELECT ulid, resource_id, project_external_id, outcome"
                        " FROM procore_webhook_events ORDER BY id"
                    )
                )
            ).all()
        assert [tuple(r) for r in back] == [
            ("01JA", "7", "562949953421312", None),
            ("01JB", None, "562949953421312", "done"),
        ]
    finally:
        await db.dispose()
