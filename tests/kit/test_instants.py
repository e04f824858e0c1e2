"""Datetimes with any UTC offset are stored as the instant they name, on both databases, and
come back timezone-aware in UTC; filters with an offset compare as instants too."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, select, text

from fieldbridge.accounts.models import Company
from fieldbridge.kit.db import Database, UTCDateTime
from fieldbridge.models import Base

INSTANT = datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
OFFSETS = [timedelta(hours=14), timedelta(hours=-12), timedelta(hours=5, minutes=45)]


def test_every_datetime_column_of_every_model_converts_to_utc() -> None:
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(getattr(column.type, "impl_instance", column.type), DateTime):
                assert isinstance(column.type, UTCDateTime), f"{table.name}.{column.name}"
                found.append(f"{table.name}.{column.name}")
    assert "clock_shifts.started_at" in found
    assert "deliveries.created_at" in found


async def _company(db: Database, code: str, at: datetime) -> int:
    async with db.transaction() as session:
        company = Company(name=code, code=code, created_at=at, updated_at=at)
        session.add(company)
        await session.flush()
        return company.id


@pytest.mark.parametrize("offset", OFFSETS, ids=["+14:00", "-12:00", "+05:45"])
async def test_an_offset_is_stored_as_its_instant_and_read_back_in_utc(
    db: Database, offset: timedelta
) -> None:
    local = INSTANT.astimezone(timezone(offset))
    assert local.utcoffset() == offset
    company_id = await _company(db, "OFFSET", local)
    async with db.transaction() as session:
        stored = await session.scalar(select(Company.created_at).where(Company.id == company_id))
        raw = await session.scalar(text("SELECT created_at FROM companies"))
    assert stored == INSTANT
    assert stored is not None
    assert stored.utcoffset() == timedelta(0)
    if db.is_sqlite:  # the text SQLite keeps is UTC wall time, so it sorts as instants
        assert str(raw).startswith("2026-11-27 06:30:00")


@pytest.mark.parametrize("offset", OFFSETS, ids=["+14:00", "-12:00", "+05:45"])
async def test_a_filter_with_an_offset_compares_instants(db: Database, offset: timedelta) -> None:
    await _company(db, "EARLY", INSTANT - timedelta(minutes=5))
    await _company(db, "LATE", INSTANT + timedelta(minutes=5))
    zone = timezone(offset)

    async def after(at: datetime) -> list[str]:
        async with db.transaction() as session:
            rows = await session.scalars(
                select(Company.code).where(Company.created_at > at.astimezone(zone)).order_by(Company.code)
            )
            return list(rows)

    assert await after(INSTANT) == ["LATE"]
    assert await after(INSTANT - timedelta(minutes=10)) == ["EARLY", "LATE"]
    assert await after(INSTANT + timedelta(minutes=10)) == []
