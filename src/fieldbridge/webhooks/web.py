"""Webhooks admin pages (/settings/webhooks): endpoints, their message log and attempts, resend,
recover, test events, secret rotation; and the public JSON Schemas of the events
(/schemas/events/<type>.json, one route per type, and /schemas/events for the list)."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts.auth import WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.scopes import Scope
from fieldbridge.kit.deps import SessionDep, SettingsDep
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.settings import Settings
from fieldbridge.web.render import render
from fieldbridge.webhooks import service
from fieldbridge.webhooks.api import excerpt
from fieldbridge.webhooks.events import EVENTS, EventType, json_schema
from fieldbridge.webhooks.repository import WebhookRepository
from fieldbridge.webhooks.schemas import EndpointIn, EndpointPatch

router = APIRouter(include_in_schema=False)


# --- public schemas --------------------------------------------------------------------------


def _schema_route(event: EventType) -> Any:
    async def schema(settings: SettingsDep) -> JSONResponse:
        return JSONResponse(json_schema(event, settings.base_url), media_type="application/schema+json")

    return schema


for _event in EVENTS.values():
    router.add_api_route(f"/schemas/events/{_event.name}.json", _schema_route(_event), methods=["GET"])


@router.get("/schemas/events")
async def schema_index(settings: SettingsDep) -> JSONResponse:
    base = settings.base_url.rstrip("/")
    return JSONResponse(
        {
            "events": [
                {
                    "type": e.name,
                    "version": e.version,
                    "description": e.description,
                    "schema": f"{base}/schemas/events/{e.name}.json",
                }
                for e in EVENTS.values()
            ]
        }
    )


# --- admin pages -----------------------------------------------------------------------------


def _form_endpoint(form: dict[str, str], types: list[str]) -> dict[str, Any]:
    headers: dict[str, str] = {}
    for line in form.get("headers", "").splitlines():
        if line.strip():
            name, sep, value = line.partition(":")
            if not sep:
                raise FieldBridgeError(f"Write each header as Name: value (got {line.strip()[:40]!r}).")
            headers[name.strip()] = value.strip()
    return {
        "url": form.get("url", "").strip(),
        "description": form.get("description", "").strip(),
        "event_types": types,
        "format": form.get("format", "standard"),
        "internal": form.get("internal") == "on",
        "headers": headers,
    }


def _problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err.get("loc", ()))
    return f"{where}: {err.get('msg', '')}".removeprefix("Value error, ")


async def _list_page(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: Settings, **extra: Any
) -> Response:
    rows = await service.list_endpoints(session, principal.company_id)
    endpoints = [service.out(e, c, settings) for e, c in rows]
    context: dict[str, Any] = {"error": None, "form": {}, **extra}
    return render(
        request,
        "webhooks.html",
        principal,
        endpoints=endpoints,
        events=EVENTS,
        section="integrations",
        status_code=400 if context["error"] else 200,
        **context,
    )


@router.get("/settings/webhooks", response_class=HTMLResponse)
async def endpoints_page(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _list_page(request, principal, session, settings)


@router.post("/settings/webhooks", response_class=HTMLResponse)
async def create_endpoint(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    types = [str(t) for t in (await request.form()).getlist("event_types")]
    try:
        body = EndpointIn(**_form_endpoint(form, types))
        endpoint, _connection, secret = await service.create(session, settings, principal.company_id, body)
    except ValidationError as exc:
        return await _list_page(request, principal, session, settings, error=_problem(exc), form=form)
    except FieldBridgeError as exc:
        return await _list_page(request, principal, session, settings, error=exc.message, form=form)
    return await _endpoint_page(
        request,
        principal,
        session,
        settings,
        endpoint.id,
        secret=secret,
        notice="Endpoint added. Copy the signing secret now: it is shown once.",
    )


async def _endpoint_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    settings: Settings,
    endpoint_id: int,
    **extra: Any,
) -> Response:
    endpoint, connection = await service.get(session, principal.company_id, endpoint_id)
    repo = WebhookRepository.from_session(session)
    messages, total = await repo.messages(principal.company_id, connection.id, offset=0, limit=50)
    context: dict[str, Any] = {"notice": request.query_params.get("notice"), "error": None, "secret": None}
    context.update(extra)
    return render(
        request,
        "webhook_endpoint.html",
        principal,
        endpoint=service.out(endpoint, connection, settings),
        messages=messages,
        total=total,
        events=EVENTS,
        section="integrations",
        status_code=400 if context["error"] else 200,
        **context,
    )


@router.get("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    return await _endpoint_page(request, principal, session, settings, endpoint_id)


def _back(endpoint_id: int, notice: str) -> Response:
    return RedirectResponse(
        f"/settings/webhooks/{endpoint_id}?{urlencode({'notice': notice})}", status_code=303
    )


@router.post("/settings/webhooks/{endpoint_id}", response_class=HTMLResponse)
async def update_endpoint(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    await service.get(session, principal.company_id, endpoint_id)  # 404 before anything else
    action = form.get("action", "save")
    try:
        if action in ("enable", "disable"):
            patch = EndpointPatch(enabled=action == "enable")
        else:
            fields = _form_endpoint(form, [str(t) for t in (await request.form()).getlist("event_types")])
            if form.get("keep_headers") == "on":
                fields.pop("headers")
            patch = EndpointPatch(**fields)
        await service.update(session, settings, principal.company_id, endpoint_id, patch)
    except ValidationError as exc:
        return await _endpoint_page(request, principal, session, settings, endpoint_id, error=_problem(exc))
    except FieldBridgeError as exc:
        return await _endpoint_page(request, principal, session, settings, endpoint_id, error=exc.message)
    return _back(endpoint_id, {"enable": "Enabled.", "disable": "Disabled."}.get(action, "Saved."))


@router.post("/settings/webhooks/{endpoint_id}/delete", response_class=HTMLResponse)
async def delete_endpoint(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    await service.delete(session, principal.company_id, endpoint_id)
    return RedirectResponse("/settings/webhooks", status_code=303)


@router.post("/settings/webhooks/{endpoint_id}/rotate", response_class=HTMLResponse)
async def rotate_secret(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.connections_write)
    try:
        hours = float(form.get("overlap_hours") or 24)
    except ValueError:
        hours = -1
    if not 0 <= hours <= 168:
        await service.get(session, principal.company_id, endpoint_id)
        return await _endpoint_page(
            request, principal, session, settings, endpoint_id, error="The overlap is 0 to 168 hours."
        )
    out = await service.rotate(session, settings, principal.company_id, endpoint_id, hours)
    until = (
        f" The old secret also signs until {out.previous_valid_until:%Y-%m-%d %H:%M} UTC."
        if out.previous_valid_until
        else ""
    )
    return await _endpoint_page(
        request,
        principal,
        session,
        settings,
        endpoint_id,
        secret=out.secret,
        notice=f"New signing secret; copy it now: it is shown once.{until}",
    )


@router.post("/settings/webhooks/{endpoint_id}/test", response_class=HTMLResponse)
async def send_test(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.deliveries_write)
    chosen = form.get("event_type") or None
    if chosen is not None and chosen not in EVENTS:
        chosen = None
    try:
        row = await service.send_test(session, settings, principal.company_id, endpoint_id, chosen)
    except FieldBridgeError as exc:
        if exc.status_code == 404:
            raise
        return await _endpoint_page(request, principal, session, settings, endpoint_id, error=exc.message)
    return _back(endpoint_id, f"Test event {row.payload.get('type')} queued (message #{row.id}).")


@router.post("/settings/webhooks/{endpoint_id}/recover", response_class=HTMLResponse)
async def recover(
    request: Request, endpoint_id: int, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.deliveries_write)
    await service.get(session, principal.company_id, endpoint_id)
    try:
        since = datetime.fromisoformat(form.get("since", ""))
    except ValueError:
        return await _endpoint_page(
            request, principal, session, settings, endpoint_id, error="Give a time, e.g. 2026-11-30T08:00."
        )
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # the form says UTC
    n = await service.recover(session, principal.company_id, endpoint_id, since)
    return _back(endpoint_id, f"Queued {n} failed message{'s' if n != 1 else ''} to send again.")


@router.get("/settings/webhooks/messages/{delivery_id}", response_class=HTMLResponse)
async def message_page(
    request: Request, delivery_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    require_web_scope(principal, Scope.deliveries_read)
    row = await service.message(session, principal.company_id, delivery_id)
    repo = WebhookRepository.from_session(session)
    attempts = await repo.attempts(principal.company_id, row.id)
    endpoint = next(
        (
            e
            for e, c in await service.list_endpoints(session, principal.company_id)
            if c.id == row.connection_id
        ),
        None,
    )
    return render(
        request,
        "webhook_message.html",
        principal,
        row=row,
        attempts=[(a, excerpt(a)) for a in attempts],
        endpoint=endpoint,
        notice=request.query_params.get("notice"),
        section="integrations",
    )


@router.post("/settings/webhooks/messages/{delivery_id}/resend", response_class=HTMLResponse)
async def resend(
    request: Request, delivery_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await checked_form(request, principal)
    require_web_scope(principal, Scope.deliveries_write)
    row = await service.resend(session, principal.company_id, delivery_id)
    notice = urlencode({"notice": "Queued to send again (same webhook-id)."})
    return RedirectResponse(f"/settings/webhooks/messages/{row.id}?{notice}", status_code=303)
