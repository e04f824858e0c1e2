"""Admin pages for connecting Procore: connect form, Procore's callback, company picker,
the connection page (health banner, Reconnect, Disconnect)."""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.schemas import OAuthCallbackIn, ProcoreConnectIn
from fieldbridge.connectors.procore.config import AuthMode
from fieldbridge.connectors.procore.provider import Environment
from fieldbridge.delivery.repository import DeliveryRepository, Outage
from fieldbridge.kit.deps import HttpDep, SessionDep, SettingsDep, get_settings
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.web.render import WebPrincipal, checked_form, render, require_web_scope

router = APIRouter(include_in_schema=False)
BASE = "/settings/integrations/procore"

ENVIRONMENTS = [
    (Environment.production.value, "Procore (production: login.procore.com / api.procore.com)"),
    (Environment.developer_sandbox.value, "Procore developer sandbox (login-sandbox.procore.com)"),
    (Environment.offline_sandbox.value, "Offline sandbox (FieldBridge's emulator, any URL)"),
]


def _problem(exc: ValidationError | FieldBridgeError) -> str:
    if isinstance(exc, FieldBridgeError):
        return exc.message
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where + ': ' if where else ''}{first['msg']}".replace("Value error, ", "")


def _back(connection_id: int, **params: str) -> RedirectResponse:
    return RedirectResponse(f"{BASE}/{connection_id}?{urlencode(params)}", status_code=303)


def _to_procore(request: Request, principal: WebPrincipal, url: str) -> Response:
    """Procore's sign-in page, reached through a page of ours: the CSP's `form-action 'self'`
    would block a form post that redirects to another site."""
    return render(request, "procore_redirect.html", principal, section="integrations", url=url)


def card(connection: Connection) -> dict[str, Any]:
    return {"connection": connection, **service.health(connection)}


async def live_card(session: AsyncSession, connection: Connection) -> tuple[dict[str, Any], Outage | None]:
    """`card`, and "Procore not answering" when the token is fine but nothing got through since
    the remote side stopped answering (an outage is not "Connected")."""
    c = card(connection)
    outage = None
    if connection.status == ConnectionStatus.connected:
        outage = await DeliveryRepository.from_session(session).unanswered(
            connection.company_id, connection.id, connection.last_success_at
        )
    if outage is not None:
        c.update(status="outage", status_label="Procore not answering", ok=False)
    return c, outage


async def _connect_page(
    request: Request, principal: WebPrincipal, session: SessionDep, status_code: int = 200, **extra: Any
) -> Response:
    connections = [card(c) for c in await service.list_connections(session, principal.company_id)]
    context: dict[str, Any] = {"error": None, "form": {}, **extra}
    offline = get_settings(request).offline_sandbox_allowed  # off in production unless allowed
    return render(
        request,
        "procore_connect.html",
        principal,
        section="integrations",
        connections=connections,
        environments=[e for e in ENVIRONMENTS if offline or e[0] != Environment.offline_sandbox.value],
        offline_allowed=offline,
        status_code=status_code,
        **context,
    )


@router.get(BASE, response_class=HTMLResponse)
async def connect_page(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    return await _connect_page(request, principal, session)


@router.post(f"{BASE}/connect", response_class=HTMLResponse)
async def connect(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: SettingsDep, http: HttpDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    fields: dict[str, Any] = {
        k: (v.strip() or None) for k, v in form.items() if k in ProcoreConnectIn.model_fields
    }
    fields["mode"] = fields.get("mode") or AuthMode.authorization_code.value
    if fields["mode"] == AuthMode.authorization_code.value:
        fields.pop("procore_company_id", None)
    try:
        async with session.begin_nested():
            connection, url = await service.start_connect(
                session, settings, http, principal.company_id, ProcoreConnectIn.model_validate(fields)
            )
    except (ValidationError, FieldBridgeError) as exc:
        form.pop("client_secret", None)
        return await _connect_page(request, principal, session, 422, error=_problem(exc), form=form)
    if url is None:
        return RedirectResponse(f"{BASE}/{connection.id}", status_code=303)
    return _to_procore(request, principal, url)


@router.get(f"{BASE}/callback", response_class=HTMLResponse)
async def callback(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """Procore sends the admin's browser back here after the consent page."""
    require_web_scope(principal, Scope.connections_write)
    try:
        data = OAuthCallbackIn(
            state=state[:200] or "-", code=code and code[:500], error=error and error[:200]
        )
        async with session.begin_nested():
            connection = await service.finish_authorization(
                session, settings, http, principal.company_id, data
            )
    except (ValidationError, FieldBridgeError) as exc:
        return await _connect_page(request, principal, session, 400, error=_problem(exc))
    return RedirectResponse(f"{BASE}/{connection.id}", status_code=303)


@router.get(BASE + "/{connection_id}", response_class=HTMLResponse)
async def connection_page(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    connection = await service.get_connection(session, principal.company_id, connection_id)
    c, outage = await live_card(session, connection)
    return render(
        request,
        "procore_connection.html",
        principal,
        section="integrations",
        c=c,
        outage=outage,
        choices=connection.config.get("company_choices") or [],
        multi=connection.config.get("mode") == AuthMode.client_credentials.value,
        error=request.query_params.get("error"),
        notice=request.query_params.get("notice"),
    )


@router.post(BASE + "/{connection_id}/company", response_class=HTMLResponse)
async def choose_company(
    request: Request, connection_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    await service.get_connection(session, principal.company_id, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    picked = [
        str(int(v))
        for v in (await request.form()).getlist("procore_company_id")
        if isinstance(v, str) and v.isdigit()
    ]
    if not picked:
        return _back(connection_id, error="Pick a Procore company.")
    try:
        async with session.begin_nested():
            chosen = await service.choose_companies(
                session, settings, principal.company_id, connection_id, picked
            )
    except FieldBridgeError as exc:
        return _back(connection_id, error=exc.message)
    return RedirectResponse(f"{BASE}/{chosen[0].id}/projects?discover=1", status_code=303)


@router.post(BASE + "/{connection_id}/reconnect", response_class=HTMLResponse)
async def reconnect(
    request: Request,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> Response:
    await service.get_connection(session, principal.company_id, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    try:
        async with session.begin_nested():
            url = await service.start_reconnect(session, settings, http, principal.company_id, connection_id)
    except FieldBridgeError as exc:
        return _back(connection_id, error=exc.message)
    if url:
        return _to_procore(request, principal, url)
    connection = await service.get_connection(session, principal.company_id, connection_id)
    checked = f"Reconnected and checked: Procore lets FieldBridge into {connection.label}."
    return _back(connection_id, notice=checked + " Waiting deliveries go out now.")


@router.post(BASE + "/{connection_id}/disconnect", response_class=HTMLResponse)
async def disconnect(
    request: Request,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> Response:
    await service.get_connection(session, principal.company_id, connection_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    warning = await service.disconnect(session, settings, http, principal.company_id, connection_id)
    message = warning or "Disconnected: Procore tokens revoked. Projects and history are kept."
    return _back(connection_id, **{"error" if warning else "notice": message})


@router.get("/settings/integrations/reconnect-banner", response_class=HTMLResponse)
async def reconnect_banner(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """The banner other pages (Timesheets) load while a connection needs a reconnect."""
    connections = await service.list_connections(session, principal.company_id)
    return render(request, "_reconnect_banner.html", principal, connections=connections)


def needs_attention(connection: Connection) -> bool:
    return connection.status in (ConnectionStatus.needs_reconnect, ConnectionStatus.pending)
