"""The stack's floor for `fieldbridge bench clockin`: the least a phone call can cost here.

`POST /bench/floor` authenticates the same device token as clock-in (same dependency, same
scope) and inserts one row in one transaction: the price of FastAPI, the auth dependency, a
pooled connection and one commit, with none of the clock-in rules. Only
`fieldbridge.cli:create_bench_server_app` mounts it (the factory the bench's server processes
run; cli is the layer above both the app and the bench), never the product app. Its table is
created by the bench before the run and dropped after it: no migration, not in the models.
"""

from fastapi import APIRouter, status
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from fieldbridge.kit.db import make_engine
from fieldbridge.kit.deps import SessionDep
from fieldbridge.timekeeping.api import TimeWrite

PATH = "/bench/floor"

metadata = MetaData()  # not the app's: `fieldbridge db check` never sees this table
floor_rows = Table(
    "bench_floor",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("company_id", Integer, nullable=False),
    Column("subject", String(64), nullable=False),
)

router = APIRouter()


@router.post(PATH, status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def floor(principal: TimeWrite, session: SessionDep) -> dict[str, bool]:
    await session.execute(
        insert(floor_rows).values(company_id=principal.company_id, subject=str(principal.subject_id))
    )
    return {"ok": True}


async def create_table(url: str) -> None:
    """A fresh, empty floor table before the run."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def drop_table(url: str) -> None:
    """Leaves the database as the migrations made it."""
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
    finally:
        await engine.dispose()
