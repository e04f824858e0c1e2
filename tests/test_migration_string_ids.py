"""0013_string_ids: a database with rows at 0012 (ids of other platforms as BIGINT) upgrades
to string ids with every row kept, on SQLite and on PostgreSQL (FIELDBRIDGE_TEST_DATABASE_URL)."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.connections.models import Connection
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database, UTCDateTime
from fieldbridge.kit.migrate import alembic_config, upgrade_async
from fieldbridge.settings import Settings
from fieldbridge.sites.models import (
    CostCode,
    LineItemType,
    Location,
    Milestone,
    ProcorePerson,
    Project,
    SubJob,
)
from tests.factories import create_tenant

PG_URL = os.environ.get("FIELDBRIDGE_TEST_DATABASE_URL")
BIG = 562949953421312  # 2**49: more than 32 bits, as Procore's ids are
NOW = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
ONE = 1001  # explicit ids clear of the sequences (PostgreSQL) the ORM inserts draw from


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own: a SQLite file, or a PostgreSQL database when the suite
    runs on PostgreSQL."""
    if PG_URL is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'before.db'}"
        return
    import psycopg

    parsed = make_url(PG_URL)
    name = f"fieldbridge_ids_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    admin = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield parsed.set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _table(table_name: str, /, **columns: sa.types.TypeEngine[Any]) -> sa.TableClause:
    return sa.table(table_name, *(sa.column(k, v) for k, v in columns.items()))


B, S, T, J, Bool = sa.BigInteger(), sa.String(), UTCDateTime(), sa.JSON(), sa.Boolean()
STAMPS = {"created_at": T, "updated_at": T}
CONNECTIONS = _table(
    "connections", id=B, company_id=B, provider=S, environment=S, label=S, status=S, config=J,
    credentials_version=B, external_account_id=B, **STAMPS,
)  # fmt: skip
PROJECTS = _table(
    "projects", id=B, company_id=B, connection_id=B, external_id=B, name=S, active=Bool, permitted=Bool,
    removed=Bool, sync_enabled=Bool, sync_state=S, sync_progress=J, budget_view_id=B, **STAMPS,
)  # fmt: skip
SUB_JOBS = _table(
    "sub_jobs", id=B, company_id=B, project_id=B, external_id=B, name=S, archived=Bool, **STAMPS
)
CATEGORIES = _table("line_item_types", id=B, company_id=B, connection_id=B, external_id=B, name=S, **STAMPS)
COST_CODES = _table(
    "cost_codes", id=B, company_id=B, project_id=B, external_id=B, name=S, line_item_type_ids=J,
    archived=Bool, sub_job_external_id=B, **STAMPS,
)  # fmt: skip
MILESTONES = _table(
    "milestones", id=B, company_id=B, project_id=B, sub_job_id=B, key=S, cost_code_external_id=B,
    line_item_type_external_id=B, budget_line_item_id=B, wbs_code_id=B, name=S, budgeted=Bool,
    hidden=Bool, archived=Bool, **STAMPS,
)  # fmt: skip
LOCATIONS = _table(
    "locations", id=B, company_id=B, project_id=B, external_id=B, parent_external_id=B, name=S, **STAMPS
)
PEOPLE = _table(
    "procore_people", id=B, company_id=B, connection_id=B, external_id=B, name=S, is_employee=Bool,
    active=Bool, procore_user_id=B, **STAMPS,
)  # fmt: skip
EVENTS = _table(
    "procore_webhook_events", id=B, company_id=B, connection_id=B, ulid=S, resource_name=S, event_type=S,
    received_at=T, resource_id=B, project_external_id=B,
)  # fmt: skip
DELIVERIES = _table(
    "deliveries", id=B, company_id=B, connection_id=B, kind=S, subject=S, payload=J, idempotency_key=S,
    status=S, attempts=B, next_attempt_at=T, expires_at=T, outcome_unknown=Bool, remote_project_id=B,
    remote_id=B, **STAMPS,
)  # fmt: skip


def _rows(company_id: int) -> list[tuple[sa.TableClause, dict[str, Any]]]:
    """One row per table with a converted column, ids of other platforms as numbers (0012)."""
    of = {"company_id": company_id, "id": ONE}
    project = {"active": True, "permitted": True, "removed": False, "sync_progress": {}}
    return [
        (CONNECTIONS, {**of, "provider": "procore", "environment": "sandbox", "label": "Procore",
                       "status": "connected", "config": {}, "credentials_version": 0,
                       "external_account_id": BIG}),
        (PROJECTS, {**of, **project, "connection_id": ONE, "external_id": BIG + 1, "name": "Tower",
                    "sync_enabled": True, "sync_state": "synced", "budget_view_id": BIG + 9}),
        (PROJECTS, {**of, **project, "id": ONE + 1, "connection_id": ONE, "external_id": 9,
                    "name": "Small id", "sync_enabled": False, "sync_state": "off", "budget_view_id": None}),
        (SUB_JOBS, {**of, "project_id": ONE, "external_id": BIG + 4, "name": "Phase 1", "archived": False}),
        (CATEGORIES, {**of, "connection_id": ONE, "external_id": BIG + 3, "name": "Labor"}),
        (COST_CODES, {**of, "project_id": ONE, "external_id": BIG + 2, "name": "Concrete",
                      "line_item_type_ids": [BIG + 3, 9], "archived": False, "sub_job_external_id": BIG + 4}),
        (MILESTONES, {**of, "project_id": ONE, "sub_job_id": ONE,
                      "key": f"procore:budget_line:cc:{BIG + 2}:cat:{BIG + 3}",
                      "cost_code_external_id": BIG + 2, "line_item_type_external_id": BIG + 3,
                      "budget_line_item_id": BIG + 5, "wbs_code_id": None, "name": "Concrete · Labor",
                      "budgeted": True, "hidden": False, "archived": False}),
        (LOCATIONS, {**of, "project_id": ONE, "external_id": BIG + 6, "parent_external_id": None,
                     "name": "Level 2"}),
        (PEOPLE, {**of, "connection_id": ONE, "external_id": BIG + 7, "name": "Maria Lopez",
                  "is_employee": True, "active": True, "procore_user_id": BIG + 8}),
        (EVENTS, {**of, "connection_id": ONE, "ulid": "01HX", "resource_name": "Cost Codes",
                  "event_type": "update", "received_at": NOW, "resource_id": BIG + 2,
                  "project_external_id": BIG + 1}),
        (DELIVERIES, {**of, "connection_id": ONE, "kind": "procore.timecard.create",
                      "subject": "clock_shift:1", "payload": {"project_id": BIG + 1}, "idempotency_key": "k1",
                      "status": "delivered", "attempts": 1, "next_attempt_at": NOW,
                      "expires_at": NOW + timedelta(days=7), "outcome_unknown": False,
                      "remote_project_id": BIG + 1, "remote_id": BIG + 10}),
    ]  # fmt: skip


async def _rows_at_0012(db: Database, company_id: int) -> None:
    stamps = {"created_at": NOW, "updated_at": NOW}
    async with db.transaction() as session:
        for table, values in _rows(company_id):
            extra = stamps if "created_at" in table.c else {}
            await session.execute(table.insert().values(**values, **extra))


async def _read(session: AsyncSession, model: type[Any], *names: str) -> tuple[Any, ...]:
    row = await session.get(model, ONE)
    assert row is not None, f"{model.__name__} {ONE} is gone"
    return tuple(getattr(row, name) for name in names)


async def test_rows_at_0012_come_back_with_string_ids(fresh_url: str, settings: Settings) -> None:
    await upgrade_async(fresh_url, "0012_jobs")
    db = Database(fresh_url)
    try:
        tenant = await create_tenant(db, settings)
        await _rows_at_0012(db, tenant.company.id)
        await upgrade_async(fresh_url, "heads")
        async with db.transaction() as session:
            assert await _read(session, Connection, "external_account_id") == (str(BIG),)
            projects = {
                p.id: (p.external_id, p.budget_view_id) for p in await session.scalars(sa.select(Project))
            }
            assert projects == {ONE: (str(BIG + 1), str(BIG + 9)), ONE + 1: ("9", None)}
            # Children of a table moved by copy (SQLite) are all still there.
            assert await _read(
                session,
                Milestone,
                "sub_job_id",
                "cost_code_external_id",
                "line_item_type_external_id",
                "budget_line_item_id",
                "wbs_code_id",
            ) == (ONE, str(BIG + 2), str(BIG + 3), str(BIG + 5), None)
            assert await _read(session, SubJob, "external_id") == (str(BIG + 4),)
            assert await _read(session, LineItemType, "external_id") == (str(BIG + 3),)
            assert await _read(
                session, CostCode, "external_id", "sub_job_external_id", "line_item_type_ids"
            ) == (
                str(BIG + 2),
                str(BIG + 4),
                [str(BIG + 3), "9"],
            )
            assert await _read(session, Location, "external_id", "parent_external_id") == (str(BIG + 6), None)
            assert await _read(session, ProcorePerson, "external_id", "procore_user_id") == (
                str(BIG + 7),
                str(BIG + 8),
            )
            # 0014 moved the webhook events into inbound_events, ids still strings.
            inbound = sa.table("inbound_events", sa.column("remote_id"), sa.column("remote_project_id"))
            assert (
                await session.execute(sa.select(inbound.c.remote_id, inbound.c.remote_project_id))
            ).one() == (
                str(BIG + 2),
                str(BIG + 1),
            )
            assert await _read(session, Delivery, "remote_project_id", "remote_id") == (
                str(BIG + 1),
                str(BIG + 10),
            )
            # Found by the string, as every lookup now asks.
            found = await session.scalar(sa.select(Project.id).where(Project.external_id == str(BIG + 1)))
            assert found == ONE
            # An id that is not a number now fits.
            session.add(
                Project(
                    company_id=tenant.company.id, connection_id=ONE, external_id="b.1234-5678", name="ACC"
                )
            )
        # The unique constraints still hold on the converted columns.
        with pytest.raises(IntegrityError):
            async with db.transaction() as session:
                session.add(
                    Project(
                        company_id=tenant.company.id, connection_id=ONE, external_id=str(BIG + 1), name="Dup"
                    )
                )
    finally:
        await db.dispose()


async def test_downgrade_turns_them_back_into_numbers(fresh_url: str, settings: Settings) -> None:
    await upgrade_async(fresh_url, "0012_jobs")
    db = Database(fresh_url)
    try:
        tenant = await create_tenant(db, settings)
        await _rows_at_0012(db, tenant.company.id)
        await upgrade_async(fresh_url, "heads")
        await _downgrade(fresh_url, "0012_jobs")
        async with db.transaction() as session:
            ids = (await session.execute(sa.select(PROJECTS.c.id, PROJECTS.c.external_id))).all()
            assert sorted(ids) == [(ONE, BIG + 1), (ONE + 1, 9)]
            (lits,) = (await session.execute(sa.select(COST_CODES.c.line_item_type_ids))).one()
            assert lits == [BIG + 3, 9]
            remote = (await session.execute(sa.select(DELIVERIES.c.remote_id))).scalar_one()
            assert remote == BIG + 10
        await upgrade_async(fresh_url, "heads")
        async with db.transaction() as session:
            assert await _read(session, Project, "external_id") == (str(BIG + 1),)
    finally:
        await db.dispose()


async def _downgrade(url: str, revision: str) -> None:
    import asyncio

    from alembic import command

    await asyncio.to_thread(command.downgrade, alembic_config(url), revision)
