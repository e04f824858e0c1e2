"""Alembic environment: runs migrations on the async engine of FIELDBRIDGE_DATABASE_URL."""

from alembic import context
from sqlalchemy.engine import Connection

from fieldbridge.kit.db import make_engine
from fieldbridge.kit.sync import run_coroutine
from fieldbridge.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "set sqlalchemy.url on the Alembic config"
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        run_coroutine(_run_async(url))


run()
