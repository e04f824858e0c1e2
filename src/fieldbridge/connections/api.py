"""REST routes of connections under /api/v1: connect a platform, pick the account, reconnect,
disconnect. `POST /connections` takes the provider in the body; `POST /connections/{provider}`
(e.g. `/connections/procore`) in the path."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from fieldbridge.accounts.auth import Principal, require
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service
from fieldbridge.connections.models import Connection
from fieldbridge.connections.schemas import (
    PROVIDER_PATTERN,
    CompanyChoiceIn,
    ConnectIn,
    ConnectionOut,
    ConnectStarted,
    OAuthCallbackIn,
    ProviderConnectIn,
)
from fieldbridge.kit.deps import HttpDep, SessionDep, SettingsDep

router = APIRouter(tags=["connections"])

ConnectionsRead = Annotated[Principal, Depends(require(Scope.connections_read), scope="function")]
ConnectionsWrite = Annotated[Principal, Depends(require(Scope.connections_write), scope="function")]
ProviderPath = Annotated[str, Path(pattern=PROVIDER_PATTERN, description="e.g. procore")]


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


async def _start(
    body: ConnectIn, principal: Principal, session: SessionDep, settings: SettingsDep, http: HttpDep
) -> ConnectStarted:
    connection, url = await service.start_connect(session, settings, http, principal.company_id, body)
    return ConnectStarted(
        connection_id=connection.id,
        authorize_url=url,
        company_choices=list(connection.config.get("company_choices") or []),
    )


@router.post(
    "/connections",
    response_model=ConnectStarted,
    status_code=status.HTTP_201_CREATED,
    summary="Start connecting a platform",
)
async def connect(
    body: ConnectIn, principal: ConnectionsWrite, session: SessionDep, settings: SettingsDep, http: HttpDep
) -> ConnectStarted:
    """Authorization code: open `authorize_url` in the admin's browser; the platform returns to
    `/settings/integrations/{provider}/callback` (or call `GET /connections/{provider}/callback`
    yourself). Service account: `company_choices` is filled at once; pick with `POST .../company`."""
    return await _start(body, principal, session, settings, http)


@router.post(
    "/connections/{provider}",
    response_model=ConnectStarted,
    status_code=status.HTTP_201_CREATED,
    summary="Start connecting one platform (e.g. /connections/procore)",
)
async def connect_provider(
    provider: ProviderPath,
    body: ProviderConnectIn,
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> ConnectStarted:
    """As `POST /connections`, with the provider in the path."""
    return await _start(body.for_provider(provider), principal, session, settings, http)


@router.get(
    "/connections/{provider}/callback", response_model=ConnectionOut, summary="Finish a platform's sign-in"
)
async def oauth_callback(
    provider: ProviderPath,
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
        await service.finish_authorization(session, settings, http, principal.company_id, data, provider)
    )


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    connection_id: int, principal: ConnectionsRead, session: SessionDep
) -> ConnectionOut:
    return connection_out(await service.get_connection(session, principal.company_id, connection_id))


@router.post(
    "/connections/{connection_id}/company", response_model=list[ConnectionOut], summary="Pick the account"
)
async def choose_company(
    connection_id: int,
    body: CompanyChoiceIn,
    principal: ConnectionsWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> list[ConnectionOut]:
    chosen = await service.choose_accounts(
        session, settings, principal.company_id, connection_id, body.account_ids
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
