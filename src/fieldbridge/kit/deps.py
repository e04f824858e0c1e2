"""Request dependencies for plumbing: the unit-of-work session and the settings."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.db import Database
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


# What the `...Dep` aliases run: `async def` although they never wait, because FastAPI runs a
# plain `def` dependency in a worker thread, a thread hop on every request that asks for one.
async def _db_dep(request: Request) -> Database:
    return get_db(request)


async def _settings_dep(request: Request) -> Settings:
    return get_settings(request)


async def get_http(request: Request) -> HttpClients:
    http: HttpClients = request.app.state.http
    return http


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work; it commits before the response is sent (scope='function')."""
    async with get_db(request).transaction() as session:
        yield session


async def get_kept_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A unit of work that also commits when the route refuses the request with a
    FieldBridgeError (a 4xx): for routes whose refusals are records too (a failed sign-in
    counts). Any other exception rolls back. One pooled connection, like `get_session`."""
    async with get_db(request).sessionmaker() as session:
        try:
            yield session
        except FieldBridgeError:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: what uvicorn's
    --proxy-headers made of X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
KeptSessionDep = Annotated[AsyncSession, Depends(get_kept_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings_dep)]
DatabaseDep = Annotated[Database, Depends(_db_dep)]
HttpDep = Annotated[HttpClients, Depends(get_http)]
