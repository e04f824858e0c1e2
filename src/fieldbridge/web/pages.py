"""Sign-in, sign-out, the home page, the Integrations page and error pages."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.auth import SESSION_COOKIE
from fieldbridge.connectors.api import catalogue
from fieldbridge.delivery.runner import registry
from fieldbridge.kit.crypto import constant_time_equal
from fieldbridge.kit.deps import SessionDep, SettingsDep, client_address
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.web.render import WebPrincipal, checked_form, render, templates

router = APIRouter(include_in_schema=False)
PRE_CSRF_COOKIE = "fb_presession"


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def error_page(request: Request, status: int, message: str, headers: dict[str, str] | None) -> Response:
    if status == 303 and headers and "Location" in headers:
        return RedirectResponse(headers["Location"], status_code=303)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "principal": None},
        status_code=status,
        headers=headers,
    )


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, next: str | None = None) -> Response:
    pre = secrets.token_urlsafe(24)
    response = render(request, "signin.html", pre_csrf=pre, next=_safe_next(next), error=None)
    response.set_cookie(PRE_CSRF_COOKIE, pre, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    pre_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    cookie = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not cookie or not constant_time_equal(cookie, pre_csrf):
        error = "The sign-in form expired. Try again."
        return render(request, "signin.html", pre_csrf=cookie or "", next=next, error=error, status_code=400)
    try:
        source = f"ip:{client_address(request)}"
        signed = await accounts_service.sign_in_user(session, settings, email, password, source)
    except FieldBridgeError as exc:
        page = render(
            request,
            "signin.html",
            pre_csrf=cookie,
            next=next,
            error=exc.message,
            email=email,
            status_code=exc.status_code,
        )
        page.headers.update(exc.headers or {})
        return page
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(PRE_CSRF_COOKIE)
    return response


@router.post("/signout")
async def signout(request: Request, session: SessionDep, principal: WebPrincipal) -> Response:
    await checked_form(request, principal)
    await accounts_service.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(principal: WebPrincipal) -> Response:
    return RedirectResponse("/settings/integrations", status_code=303)


@router.get("/settings", response_class=HTMLResponse)
async def settings_home(principal: WebPrincipal) -> Response:
    return RedirectResponse("/settings/integrations", status_code=303)


@router.get("/settings/integrations", response_class=HTMLResponse)
async def integrations(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    from fieldbridge.connections import service as connections_service  # avoids an import cycle
    from fieldbridge.connections.web import live_card

    connections = await connections_service.list_connections(session, principal.company_id)
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
        for c in catalogue(registry())
    ]
    return render(request, "integrations.html", principal, integrations=items, section="integrations")
