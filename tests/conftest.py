"""Test fixtures: a real database per test (SQLite file, or PostgreSQL when
FIELDBRIDGE_TEST_DATABASE_URL is set), migrated by Alembic, and the app over ASGI.

SQLite: the schema is migrated once into a template file that each test copies.
PostgreSQL: one database per xdist worker, migrated once; every table is emptied before each test.
"""

import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from fieldbridge.app import create_app
from fieldbridge.kit.db import Database
from fieldbridge.kit.migrate import upgrade
from fieldbridge.models import Base
from fieldbridge.settings import Environment, Settings

pytest_plugins = ["tests.browser", "tests.procore_fixtures"]

PG_URL = os.environ.get("FIELDBRIDGE_TEST_DATABASE_URL")

# Property tests check properties, not speed: a loaded CI machine must not fail them on
# Hypothesis's per-example deadline (timing belongs in `fieldbridge bench`).
hypothesis_settings.register_profile("fieldbridge", deadline=None)
hypothesis_settings.load_profile("fieldbridge")


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_admin_dsn(url: str) -> tuple[str, str]:
    """A psycopg-style DSN to the server's maintenance database, and this worker's database name."""
    parsed = make_url(url)
    # The pid keeps concurrent pytest sessions on one server out of each other's database.
    name = f"fieldbridge_test_{_worker_id()}_{os.getpid()}"
    admin = parsed.set(drivername="postgresql", database=parsed.database or "postgres")
    return admin.render_as_string(hide_password=False), name


@pytest.fixture(scope="session", autouse=True)
def connectors_installed() -> None:
    """What every entry point does at start: install the shipped connectors and the domains'
    inbound handlers."""
    from fieldbridge import wiring

    wiring.install()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str | None]:
    if PG_URL is None:
        yield None
        return
    import psycopg

    admin_dsn, name = _pg_admin_dsn(PG_URL)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
    upgrade(url)
    yield url
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_emptier(pg_database_url: str | None) -> Iterator[Callable[[], None] | None]:
    """Empties every table of this worker's PostgreSQL database: one kept connection, one TRUNCATE."""
    if pg_database_url is None:
        yield None
        return
    import psycopg

    dsn = make_url(pg_database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with psycopg.connect(dsn, autocommit=True) as conn:

        def empty() -> None:
            conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

        yield empty


@pytest.fixture
def database_url(
    pg_database_url: str | None,
    pg_emptier: Callable[[], None] | None,
    sqlite_template: Path,
    tmp_path: Path,
) -> str:
    if pg_database_url is not None and pg_emptier is not None:
        # Every test starts on empty tables, whichever fixtures it uses (a browser test that
        # only takes `settings` must not see the rows the previous one left).
        pg_emptier()
        return pg_database_url
    path = tmp_path / "fieldbridge.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(env=Environment.test, database_url=database_url, base_url="http://testserver")


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def app(settings: Settings, db: Database) -> object:
    application = create_app(settings)
    await application.state.db.dispose()
    application.state.db = db
    return application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in this thread
    for the rest of the session, which async tests after it cannot share."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
