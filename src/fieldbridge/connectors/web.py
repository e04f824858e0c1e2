"""The Integrations pages: the catalogue of connectors and their connections (with "not
answering" from the ledger), and for any platform with a `ConnectFlow` the connect form, the
provider's callback, the account picker, the connection page (health banner, Reconnect,
Disconnect). URLs are /settings/integrations/{provider}/...; a flow names its templates, so
Procore's pages stay Procore-worded."""

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.scopes import Scope
from fieldbridge.connections import service
from fieldbridge.connections.connector import Capability, ConnectFlow, Connector, installed_registry
from fieldbridge.connections.credentials import AuthMode
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.connections.schemas import ConnectIn, OAuthCallbackIn
from fieldbridge.connectors.api import catalogue
from fieldbridge.delivery.budget import usage_report
from fieldbridge.delivery.models import RateBudget
from fieldbridge.delivery.repository import DeliveryRepository, Outage
from fieldbridge.kit.deps import HttpDep, SessionDep, SettingsDep, get_settings
from fieldbridge.kit.errors import FieldBridgeError, NotFound
from fieldbridge.sites import reconcile
from fieldbridge.web.render import render

router = APIRouter(include_in_schema=False)
ROOT = "/settings/integrations"
BASE = ROOT + "/{provider}"


def _problem(exc: ValidationError | FieldBridgeError) -> str:
    if isinstance(exc, FieldBridgeError):
        return exc.message
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    return f"{where + ': ' if where else ''}{first['msg']}".replace("Value error, ", "")


def _back(connection: Connection, **params: str) -> RedirectResponse:
    return RedirectResponse(
        f"{ROOT}/{connection.provider}/{connection.id}?{urlencode(params)}", status_code=303
    )


def _page_data(spec: Connector, flow: ConnectFlow) -> dict[str, Any]:
    """What the generic templates need to word a provider's pages."""
    return {
        "provider": spec.provider,
        "display_name": spec.display_name,
        "base": f"{ROOT}/{spec.provider}",
        "account_noun": flow.account_noun,
        "account_field": flow.account_field,
        "modes": sorted(m.value for m in flow.modes),
    }


async def _owned(session: AsyncSession, company_id: int, provider: str, connection_id: int) -> Connection:
    """The company's connection of this provider (another provider's id is a 404 here too)."""
    connection = await service.get_connection(session, company_id, connection_id)
    if connection.provider != provider:
        raise NotFound("No such connection in this company.")
    return connection


def _to_provider(
    request: Request, principal: WebPrincipal, flow: ConnectFlow, spec: Connector, url: str
) -> Response:
    """The provider's sign-in page, reached through a page of ours: the CSP's `form-action 'self'`
    would block a form post that redirects to another site."""
    return render(
        request, flow.pages.redirect, principal, section="integrations", url=url, **_page_data(spec, flow)
    )


def card(connection: Connection) -> dict[str, Any]:
    return {"connection": connection, **service.health(connection)}


async def live_card(session: AsyncSession, connection: Connection) -> tuple[dict[str, Any], Outage | None]:
    """`card`, and "<platform> not answering" when the token is fine but nothing got through
    since the remote side stopped answering (an outage is not "Connected")."""
    c = card(connection)
    outage = None
    if connection.status == ConnectionStatus.connected:
        outage = await DeliveryRepository.from_session(session).unanswered(
            connection.company_id, connection.id, connection.last_success_at
        )
    if outage is not None:
        spec = installed_registry().specs.get(connection.provider)
        name = spec.display_name if spec is not None else connection.provider
        c.update(status="outage", status_label=f"{name} not answering", ok=False)
    return c, outage


@router.get(f"{ROOT}/reconnect-banner", response_class=HTMLResponse)
async def reconnect_banner(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    """The banner other pages (Timesheets) load while a connection needs a reconnect."""
    connections = await service.list_connections(session, principal.company_id)
    return render(request, "_reconnect_banner.html", principal, connections=connections)


async def _connect_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    provider: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    spec, flow = service.flow_of(provider)
    rows = await service.list_connections(session, principal.company_id, provider)
    context: dict[str, Any] = {"error": None, "form": {}, **extra}
    offline = get_settings(request).offline_sandbox_allowed  # off in production unless allowed
    return render(
        request,
        flow.pages.connect,
        principal,
        section="integrations",
        connections=[card(c) for c in rows],
        environments=[(e.value, e.label) for e in flow.environments if offline or not e.emulator],
        offline_allowed=offline,
        has_emulator=any(e.emulator for e in flow.environments),
        status_code=status_code,
        **_page_data(spec, flow),
        **context,
    )


@router.get(BASE, response_class=HTMLResponse)
async def connect_page(
    request: Request, provider: str, principal: WebPrincipal, session: SessionDep
) -> Response:
    return await _connect_page(request, principal, session, provider)


@router.post(f"{BASE}/connect", response_class=HTMLResponse)
async def connect(
    request: Request,
    provider: str,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> Response:
    spec, flow = service.flow_of(provider)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    fields: dict[str, Any] = {k: (v.strip() or None) for k, v in form.items() if k in ConnectIn.model_fields}
    fields["account_id"] = (form.get(flow.account_field) or form.get("account_id") or "").strip() or None
    fields["provider"] = provider
    fields["environment"] = fields.get("environment") or flow.environments[0].value
    fields["mode"] = fields.get("mode") or AuthMode.authorization_code.value
    if fields["mode"] == AuthMode.authorization_code.value:
        fields.pop("account_id", None)
    try:
        async with session.begin_nested():
            connection, url = await service.start_connect(
                session, settings, http, principal.company_id, ConnectIn.model_validate(fields)
            )
    except (ValidationError, FieldBridgeError) as exc:
        form.pop("client_secret", None)
        return await _connect_page(request, principal, session, provider, 422, error=_problem(exc), form=form)
    if url is None:
        return RedirectResponse(f"{ROOT}/{provider}/{connection.id}", status_code=303)
    return _to_provider(request, principal, flow, spec, url)


@router.get(f"{BASE}/callback", response_class=HTMLResponse)
async def callback(
    request: Request,
    provider: str,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
    state: str = "",
    code: str | None = None,
    error: str | None = None,
) -> Response:
    """The provider sends the admin's browser back here after its consent page."""
    service.flow_of(provider)
    require_web_scope(principal, Scope.connections_write)
    try:
        data = OAuthCallbackIn(
            state=state[:200] or "-", code=code and code[:500], error=error and error[:200]
        )
        async with session.begin_nested():
            connection = await service.finish_authorization(
                session, settings, http, principal.company_id, data, provider
            )
    except (ValidationError, FieldBridgeError) as exc:
        return await _connect_page(request, principal, session, provider, 400, error=_problem(exc))
    return RedirectResponse(f"{ROOT}/{provider}/{connection.id}", status_code=303)


@router.get(BASE + "/{connection_id}", response_class=HTMLResponse)
async def connection_page(
    request: Request, provider: str, connection_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    connection = await _owned(session, principal.company_id, provider, connection_id)
    spec, flow = service.flow_of(provider)
    c, outage = await live_card(session, connection)
    return render(
        request,
        flow.pages.connection,
        principal,
        section="integrations",
        c=c,
        outage=outage,
        budget=usage_report(await session.get(RateBudget, connection.id)),
        sync_health=reconcile.health_view(connection),
        choices=connection.config.get("company_choices") or [],
        multi=connection.config.get("mode") == AuthMode.client_credentials.value,
        error=request.query_params.get("error"),
        notice=request.query_params.get("notice"),
        **_page_data(spec, flow),
    )


@router.post(BASE + "/{connection_id}/company", response_class=HTMLResponse)
async def choose_company(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    connection = await _owned(session, principal.company_id, provider, connection_id)
    spec, flow = service.flow_of(provider)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    posted = await request.form()
    picked = [
        v.strip()
        for v in [*posted.getlist(flow.account_field), *posted.getlist("account_id")]
        if isinstance(v, str) and v.strip()
    ]
    if not picked:
        return _back(connection, error=f"Pick a {flow.account_noun}.")
    try:
        async with session.begin_nested():
            chosen = await service.choose_accounts(
                session, settings, principal.company_id, connection_id, picked
            )
    except FieldBridgeError as exc:
        return _back(connection, error=exc.message)
    if Capability.project_sync in spec.capabilities:  # straight on to pick projects
        return RedirectResponse(f"{ROOT}/{provider}/{chosen[0].id}/projects?discover=1", status_code=303)
    return RedirectResponse(f"{ROOT}/{provider}/{chosen[0].id}", status_code=303)


@router.post(BASE + "/{connection_id}/reconnect", response_class=HTMLResponse)
async def reconnect(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> Response:
    connection = await _owned(session, principal.company_id, provider, connection_id)
    spec, flow = service.flow_of(provider)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    try:
        async with session.begin_nested():
            url = await service.start_reconnect(session, settings, http, principal.company_id, connection_id)
    except FieldBridgeError as exc:
        return _back(connection, error=exc.message)
    if url:
        return _to_provider(request, principal, flow, spec, url)
    checked = f"Reconnected and checked: {spec.display_name} lets FieldBridge into {connection.label}."
    return _back(connection, notice=checked + " Waiting deliveries go out now.")


@router.post(BASE + "/{connection_id}/disconnect", response_class=HTMLResponse)
async def disconnect(
    request: Request,
    provider: str,
    connection_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    http: HttpDep,
) -> Response:
    connection = await _owned(session, principal.company_id, provider, connection_id)
    spec, _ = service.flow_of(provider)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    warning = await service.disconnect(session, settings, http, principal.company_id, connection_id)
    message = warning or f"Disconnected: {spec.display_name} tokens revoked. Projects and history are kept."
    return _back(connection, **{"error" if warning else "notice": message})


def needs_attention(connection: Connection) -> bool:
    return connection.status in (ConnectionStatus.needs_reconnect, ConnectionStatus.pending)


@router.get("/", response_class=HTMLResponse)
async def home(principal: WebPrincipal) -> Response:
    return RedirectResponse("/settings/integrations", status_code=303)


@router.get("/settings", response_class=HTMLResponse)
async def settings_home(principal: WebPrincipal) -> Response:
    return RedirectResponse("/settings/integrations", status_code=303)


@router.get("/settings/integrations", response_class=HTMLResponse)
async def integrations(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    connections = await service.list_connections(session, principal.company_id)
    cards = {row.id: (await live_card(session, row))[0] for row in connections}
    items = [
        {
            "key": c.provider,
            "name": c.name,
            "blurb": c.summary,
            "connect_url": c.connect_url,
            "connections": [
                {"url": f"{c.connect_url}/{row.id}", "label": row.label, **cards[row.id]}
                for row in connections
                if row.provider == c.provider and c.connect_url
            ],
        }
        for c in catalogue(installed_registry())
    ]
    return render(request, "integrations.html", principal, integrations=items, section="integrations")
