"""Alembic environment: runs migrations on the async engine of FIELDBRIDGE_DATABASE_URL."""

from alembic import context
from sqlalchemy.engine import Connection

from fieldbridge.kit.db import make_engine
from fieldbridge.kit.sync import run_coroutine
from fieldbridge.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode moves a table by copy, drop and rename; with foreign keys on, dropping a
        # parent (projects, connections) would cascade-delete its children. Off for the run
        # (it must be set outside a transaction), checked before the commit, on again after.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"The migration left rows whose parent is gone: {broken[:5]}")


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
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
