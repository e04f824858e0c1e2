"""Admin pages of the accounts domain: sign-in and sign-out, Workers, API keys, Users."""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from fieldbridge.accounts import importing, service, throttle
from fieldbridge.accounts.auth import SESSION_COOKIE, WebPrincipal, checked_form, require_web_scope
from fieldbridge.accounts.repository import (
    ApiKeyRepository,
    CompanyRepository,
    UserRepository,
    WorkerRepository,
)
from fieldbridge.accounts.schemas import ApiKeyIn, CompanyPatch, UserIn, WorkerIn, WorkerPatch
from fieldbridge.accounts.scopes import ALL_SCOPES, Scope
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import constant_time_equal
from fieldbridge.kit.deps import SessionDep, SettingsDep, client_address
from fieldbridge.kit.errors import FieldBridgeError
from fieldbridge.web.render import render

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
PRE_CSRF_COOKIE = "fb_presession"


def _safe_next(target: str | None) -> str:
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


def _problem(exc: ValidationError | FieldBridgeError) -> str:
    if isinstance(exc, FieldBridgeError):
        return exc.message
    first = exc.errors()[0]
    return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def _worker_fields(form: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {k: v.strip() or None for k, v in form.items() if k in WorkerIn.model_fields}
    fields["is_foreman"] = form.get("is_foreman") == "on"
    fields["active"] = form.get("active", "on") == "on"
    if not fields.get("pin"):
        fields.pop("pin", None)
    return fields


async def _workers_page(
    request: Request,
    principal: WebPrincipal,
    session: SessionDep,
    *,
    q: str = "",
    page: int = 1,
    error: str | None = None,
    status_code: int = 200,
    notice: str | None = None,
) -> Response:
    rows, total = await WorkerRepository.from_session(session).list(
        principal.company_id, q=q or None, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
    )
    return render(
        request,
        "workers.html",
        principal,
        section="workers",
        workers=rows,
        total=total,
        q=q,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        error=error,
        notice=notice,
        status_code=status_code,
    )


@router.get("/settings/workers", response_class=HTMLResponse)
async def workers(
    request: Request, principal: WebPrincipal, session: SessionDep, q: str = "", page: int = 1
) -> Response:
    return await _workers_page(request, principal, session, q=q[:100], page=max(1, min(page, 100_000)))


@router.post("/settings/workers", response_class=HTMLResponse)
async def create_worker(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.workers_write)
    try:
        async with session.begin_nested():
            data = WorkerIn.model_validate(_worker_fields(form))
            await service.create_worker(session, settings, principal.company_id, data)
    except (ValidationError, FieldBridgeError) as exc:
        return await _workers_page(request, principal, session, error=_problem(exc), status_code=422)
    return RedirectResponse("/settings/workers", status_code=303)


@router.post("/settings/workers/import", response_class=HTMLResponse)
async def import_workers(
    request: Request, principal: WebPrincipal, session: SessionDep, settings: SettingsDep
) -> Response:
    await checked_form(request, principal)
    require_web_scope(principal, Scope.workers_write)
    upload = (await request.form()).get("file")
    if upload is None or isinstance(upload, str):
        return await _workers_page(
            request, principal, session, error="Choose a CSV file first.", status_code=422
        )
    try:
        data = await upload.read()
        result = await importing.import_workers_csv(session, settings, principal.company_id, data)
    except FieldBridgeError as exc:
        return await _workers_page(
            request, principal, session, error=exc.message, status_code=exc.status_code
        )
    notice = f"Imported: {result.created} created, {result.updated} updated."
    if result.errors:
        notice += " Problems: " + "; ".join(result.errors[:10])
    return await _workers_page(request, principal, session, notice=notice)


@router.get("/settings/workers/{worker_id}", response_class=HTMLResponse)
async def worker_page(
    request: Request, worker_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    worker = await service.get_worker(session, principal.company_id, worker_id)
    return render(request, "worker_edit.html", principal, section="workers", worker=worker, error=None)


@router.post("/settings/workers/{worker_id}", response_class=HTMLResponse)
async def update_worker(
    request: Request,
    worker_id: int,
    principal: WebPrincipal,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    worker = await service.get_worker(session, principal.company_id, worker_id)
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.workers_write)
    try:
        async with session.begin_nested():
            patch = WorkerPatch.model_validate(_worker_fields(form))
            await service.update_worker(session, settings, principal.company_id, worker_id, patch)
    except (ValidationError, FieldBridgeError) as exc:
        await session.refresh(worker)
        return render(
            request,
            "worker_edit.html",
            principal,
            section="workers",
            worker=worker,
            error=_problem(exc),
            status_code=422,
        )
    return RedirectResponse("/settings/workers", status_code=303)


async def _keys_page(
    request: Request, principal: WebPrincipal, session: SessionDep, **extra: Any
) -> Response:
    keys = await ApiKeyRepository.from_session(session).list(principal.company_id)
    context: dict[str, Any] = {"new_key": None, "error": None, **extra}
    return render(
        request,
        "api_keys.html",
        principal,
        section="api-keys",
        keys=keys,
        all_scopes=sorted(ALL_SCOPES),
        **context,
    )


@router.get("/settings/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    require_web_scope(principal, Scope.api_keys_write)
    return await _keys_page(request, principal, session)


@router.post("/settings/api-keys", response_class=HTMLResponse)
async def create_api_key(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    await checked_form(request, principal)
    require_web_scope(principal, Scope.api_keys_write)
    form = await request.form()
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        data = ApiKeyIn.model_validate({"name": form.get("name", ""), "scopes": scopes})
        _, token = await service.create_api_key(session, principal.company_id, data)
    except (ValidationError, FieldBridgeError) as exc:
        return await _keys_page(request, principal, session, error=_problem(exc), status_code=422)
    return await _keys_page(request, principal, session, new_key=token)


@router.post("/settings/api-keys/{api_key_id}/revoke", response_class=HTMLResponse)
async def revoke_api_key(
    request: Request, api_key_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await service.get_api_key(session, principal.company_id, api_key_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.api_keys_write)
    await service.revoke_api_key(session, principal.company_id, api_key_id)
    return RedirectResponse("/settings/api-keys", status_code=303)


async def _users_page(
    request: Request, principal: WebPrincipal, session: SessionDep, **extra: Any
) -> Response:
    users = await UserRepository.from_session(session).list(principal.company_id)
    company = await service.get_company(session, principal.company_id)
    blocks = await throttle.blocks_of_company(session, company.id, company.code, utcnow())
    context: dict[str, Any] = {"error": None, **extra}
    return render(request, "users.html", principal, section="users", users=users, blocks=blocks, **context)


@router.get("/settings/users", response_class=HTMLResponse)
async def users(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    require_web_scope(principal, Scope.users_write)
    return await _users_page(request, principal, session)


@router.post("/settings/users", response_class=HTMLResponse)
async def create_user(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.users_write)
    try:
        async with session.begin_nested():
            await service.create_user(session, principal.company_id, UserIn.model_validate(form))
    except (ValidationError, FieldBridgeError) as exc:
        return await _users_page(request, principal, session, error=_problem(exc), status_code=422)
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/settings/users/sign-in-blocks/reset", response_class=HTMLResponse)
async def reset_sign_in_blocks(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    await checked_form(request, principal)
    require_web_scope(principal, Scope.users_write)
    company = await service.get_company(session, principal.company_id)
    await throttle.reset_company(session, company.id, company.code)
    return RedirectResponse("/settings/users#sign-in-blocks", status_code=303)


@router.post("/settings/users/{user_id}/deactivate", response_class=HTMLResponse)
async def deactivate_user(
    request: Request, user_id: int, principal: WebPrincipal, session: SessionDep
) -> Response:
    await service.get_user(session, principal.company_id, user_id)
    await checked_form(request, principal)
    require_web_scope(principal, Scope.users_write)
    await service.set_user_active(session, principal.company_id, user_id, False)
    return RedirectResponse("/settings/users", status_code=303)


async def _company_page(
    request: Request, principal: WebPrincipal, session: SessionDep, **extra: Any
) -> Response:
    company = await CompanyRepository.from_session(session).get(principal.company_id)
    context: dict[str, Any] = {"error": None, "saved": False, **extra}
    return render(request, "company.html", principal, section="company", company=company, **context)


@router.get("/settings/company", response_class=HTMLResponse)
async def company(
    request: Request, principal: WebPrincipal, session: SessionDep, saved: bool = False
) -> Response:
    require_web_scope(principal, Scope.users_write)
    return await _company_page(request, principal, session, saved=saved)


@router.post("/settings/company", response_class=HTMLResponse)
async def update_company(request: Request, principal: WebPrincipal, session: SessionDep) -> Response:
    form = await checked_form(request, principal)
    require_web_scope(principal, Scope.users_write)
    try:
        data = CompanyPatch.model_validate({"time_zone": form.get("time_zone", "")})
    except ValidationError as exc:
        return await _company_page(
            request, principal, session, error=_problem(exc), typed=form.get("time_zone", ""), status_code=422
        )
    await service.update_company(session, principal.company_id, data)
    return RedirectResponse("/settings/company?saved=true", status_code=303)


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
        signed = await service.sign_in_user(session, settings, email, password, source)
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
    await service.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
