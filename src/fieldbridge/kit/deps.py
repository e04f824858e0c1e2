"""Request dependencies for plumbing: the unit-of-work session and the settings."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.kit.db import Database
from fieldbridge.kit.http import HttpClients
from fieldbridge.settings import Settings


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_http(request: Request) -> HttpClients:
    http: HttpClients = request.app.state.http
    return http


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work; it commits before the response is sent (scope='function')."""
    async with get_db(request).transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
HttpDep = Annotated[HttpClients, Depends(get_http)]
