"""REST routes of connections under /api/v1: connect Procore, pick the company, reconnect, disconnect."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service
from fieldbridge.connections.models import Connection
from fieldbridge.connections.schemas import (
    CompanyChoiceIn,
    ConnectionOut,
    ConnectStarted,
    OAuthCallbackIn,
    ProcoreConnectIn,
)
from fieldbridge.kit.deps import HttpDep, SessionDep, SettingsDep

router = APIRouter(tags=["connections"])

ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]
ConnectionsWrite = Annotated[Principal, Depends(require(Scope.connections_write), scope="function")]


class AuthorizeUrl(BaseModel):
    authorize_url: str | None = Field(description="null for service accounts: reconnected already")


class Disconnected(BaseModel):
    connection: ConnectionOut
    warning: str | None


def connection_out(connection: Connection) -> ConnectionOut:
    out = ConnectionOut.model_validate(connection)
    out.company_choices = list(connection.config.get("company_choices") or [])
    return out


@router.get("/connections", response_model=list[ConnectionOut], summary="List connections")
async def list_connections(principal: ConnectionsRead, session: SessionDep) -> list[ConnectionOut]:
    return [connection_out(c) for c in await service.list_connections(session, principal.company_id)]


@router.post(
    "/connections/procore",
    response_model=ConnectStarted,
    status_code=status.HTTP_201_CREATED,
    summary="Start connecting Procore",
)
async def connect_procore(
    body: ProcoreConnectIn,
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> ConnectStarted:
    """Authorization code: open `authorize_url` in the admin's browser; Procore returns to
    `/settings/integrations/procore/callback` (or call the callback route below yourself).
    Service account: `company_choices` is filled at once; pick with `POST .../company`."""
    connection, url = await service.start_connect(session, settings, http, principal.company_id, body)
    return ConnectStarted(
        connection_id=connection.id,
        authorize_url=url,
        company_choices=list(connection.config.get("company_choices") or []),
    )


@router.get("/connections/procore/callback", response_model=ConnectionOut, summary="Finish Procore sign-in")
async def procore_callback(
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    state: Annotated[str, Query(max_length=200)],
    code: Annotated[str | None, Query(max_length=500)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> ConnectionOut:
    data = OAuthCallbackIn(state=state, code=code, error=error)
    return connection_out(
        await service.finish_authorization(session, settings, http, principal.company_id, data)
    )


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    connection_id: int, principal: ConnectionsRead, session: SessionDep
) -> ConnectionOut:
    return connection_out(await service.get_connection(session, principal.company_id, connection_id))


@router.post(
    "/connections/{connection_id}/company", response_model=list[ConnectionOut], summary="Pick the company"
)
async def choose_company(
    connection_id: int,
    body: CompanyChoiceIn,
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> list[ConnectionOut]:
    chosen = await service.choose_companies(
        session, settings, principal.company_id, connection_id, body.procore_company_ids
    )
    return [connection_out(c) for c in chosen]


@router.post("/connections/{connection_id}/reconnect", response_model=AuthorizeUrl)
async def reconnect(
    connection_id: int, principal: ConnectionsWrite, session: SessionDep, settings: SettingsDep, http: HttpDep
) -> AuthorizeUrl:
    url = await service.start_reconnect(session, settings, http, principal.company_id, connection_id)
    return AuthorizeUrl(authorize_url=url)


@router.post("/connections/{connection_id}/disconnect", response_model=Disconnected)
async def disconnect(
    connection_id: int, principal: ConnectionsWrite, session: SessionDep, settings: SettingsDep, http: HttpDep
) -> Disconnected:
    warning = await service.disconnect(session, settings, http, principal.company_id, connection_id)
    connection = await service.get_connection(session, principal.company_id, connection_id)
    return Disconnected(connection=connection_out(connection), warning=warning)
