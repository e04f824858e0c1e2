"""OAuth 2.0 as Procore documents it (procore-api.md §1.2): authorize page, token, info, revoke.

Authorization codes are single-use and live 10 minutes. Refresh tokens are single-use and
rotate: the presented one dies before the new pair is issued, so a lost response leaves the
client with a dead refresh token, exactly like Procore. Client authentication is accepted in
a JSON body, a form body, a multipart body, or HTTP Basic.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from fieldbridge_sandbox.auth import principal, sandbox
from fieldbridge_sandbox.body import read_body
from fieldbridge_sandbox.errors import ProcoreError, oauth_error
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import Record

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
OOB = "urn:ietf:wg:oauth:2.0:oob"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANTS = ("authorization_code", "refresh_token", "client_credentials")


def find_app(state: SandboxState, client_id: str | None) -> Record | None:
    return next((a for a in state.store["apps"] if a["client_id"] == client_id), None)


def redirect_allowed(app: Record, uri: str) -> bool:
    """Registered URIs; plus (sandbox only) any http URI on a loopback host."""
    if uri in app["redirect_uris"]:
        return True
    parts = urlsplit(uri)
    return bool(
        app.get("allow_loopback_redirects")
        and parts.scheme == "http"
        and parts.hostname in ("127.0.0.1", "localhost", "::1")
    )


def with_query(uri: str, params: dict[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


def revoke_tokens(access_tokens: dict[str, Record], refresh_tokens: dict[str, Record]) -> int:
    """Revoke every access token and spend every refresh token; how many access tokens died."""
    count = 0
    for record in access_tokens.values():
        if not record["revoked"]:
            record["revoked"] = True
            count += 1
    for record in refresh_tokens.values():
        record["used"] = True
    return count


@router.get("/oauth/authorize")
async def authorize(request: Request) -> Response:
    state = sandbox(request)
    q = request.query_params
    app = find_app(state, q.get("client_id"))
    redirect_uri = q.get("redirect_uri", "")
    if app is None or not redirect_allowed(app, redirect_uri):
        return templates.TemplateResponse(
            request,
            "authorize_error.html",
            {"message": "Unknown client_id" if app is None else "redirect_uri is not registered"},
            status_code=400,
        )
    if q.get("response_type") != "code":
        params = {"error": "unsupported_response_type"}
        if q.get("state"):
            params["state"] = q["state"]
        return RedirectResponse(with_query(redirect_uri, params), status_code=302)
    companies = {int(c) for c in app["installs"]}
    users = [
        u
        for u in state.store["users"]
        if u["company_id"] in companies and not u.get("_service_account") and u.get("is_active", True)
    ]
    return templates.TemplateResponse(
        request,
        "authorize.html",
        {
            "app": app,
            "users": users,
            "redirect_uri": redirect_uri,
            "state": q.get("state", ""),
            "response_type": "code",
        },
    )


@dataclass(slots=True)
class Consent:
    """An approved consent form: the app, where to send the code, state to pass back."""

    app: Record
    redirect_uri: str
    extra: dict[str, str]
    form: FormData


async def read_consent(
    request: Request, find: Callable[[str], Record | None], denied: dict[str, str]
) -> Consent | Response:
    """The posted consent form, or the response that ends the flow: 400 for a bad client or
    redirect URI, the `denied` error redirect when the user pressed Deny."""
    form = await request.form()
    app = find(str(form.get("client_id", "")))
    redirect_uri = str(form.get("redirect_uri", ""))
    if app is None or not redirect_allowed(app, redirect_uri):
        return HTMLResponse("Invalid client or redirect_uri", status_code=400)
    extra = {"state": str(form["state"])} if form.get("state") else {}
    if form.get("decision") != "approve":
        return RedirectResponse(with_query(redirect_uri, {**denied, **extra}), status_code=302)
    return Consent(app, redirect_uri, extra, form)


@router.post("/_sandbox/oauth/consent")
async def consent(request: Request) -> Response:
    """The sign-in + consent form of the authorize page posts here (not Procore surface)."""
    state = sandbox(request)
    read = await read_consent(request, lambda cid: find_app(state, cid), {"error": "access_denied"})
    if isinstance(read, Response):
        return read
    app, redirect_uri, extra, form = read.app, read.redirect_uri, read.extra, read.form
    try:
        user = state.store["users"].get(int(str(form.get("user_id", ""))))
    except ValueError:
        user = None
    if user is None:
        return HTMLResponse("Pick a user", status_code=400)
    code = state.store.new_token("sbx_code_")
    state.store.auth_codes[code] = {
        "app_id": app["id"],
        "user_id": user["id"],
        "redirect_uri": redirect_uri,
        "created_at": state.store.now(),
        "used": False,
    }
    state.store.save()
    if redirect_uri == OOB:
        return HTMLResponse(f"<p>Authorization code: <code id='code'>{code}</code></p>")
    return RedirectResponse(with_query(redirect_uri, {"code": code, **extra}), status_code=302)


async def _client_params(request: Request) -> dict[str, Any]:
    body, _ = await read_body(request)
    params: dict[str, Any] = dict(body) if isinstance(body, dict) else {}
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            cid, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise oauth_error(401, "invalid_client", "Malformed HTTP Basic credentials") from None
        params.setdefault("client_id", cid)
        params.setdefault("client_secret", secret)
    return params


def _validate(state: SandboxState, path: str, params: dict[str, Any]) -> None:
    try:
        state.validators.validate("POST", path, params, coerce=True)
    except ProcoreError as exc:
        fields = ", ".join(f"{k} {' '.join(v)}" for k, v in exc.body["errors"].items())
        raise oauth_error(400, "invalid_request", fields) from None


def _authenticate(state: SandboxState, params: dict[str, Any]) -> Record:
    app = find_app(state, str(params.get("client_id")))
    if app is None or not hmac.compare_digest(str(params.get("client_secret", "")), app["client_secret"]):
        raise oauth_error(
            401,
            "invalid_client",
            "Client authentication failed due to "
            "unknown client, no client authentication included, or unsupported "
            "authentication method.",
        )
    return app


def issue(state: SandboxState, app: Record, user_id: int, grant: str) -> dict[str, Any]:
    store = state.store
    now = int(store.now())
    access = store.new_token("sbx_at_")
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "bearer",
        "expires_in": state.config.expires_in,
        "created_at": now,
    }
    record: dict[str, Any] = {
        "app_id": app["id"],
        "user_id": user_id,
        "created_at": now,
        "expires_in": state.config.expires_in,
        "grant": grant,
        "refresh_token": None,
        "revoked": False,
    }
    if grant != "client_credentials":
        refresh = store.new_token("sbx_rt_")
        record["refresh_token"] = refresh
        store.refresh_tokens[refresh] = {
            "app_id": app["id"],
            "user_id": user_id,
            "access_token": access,
            "used": False,
        }
        body["refresh_token"] = refresh
    store.access_tokens[access] = record
    store.save()
    return body


@router.post("/oauth/token")
async def token(request: Request) -> Response:
    state = sandbox(request)
    params = await _client_params(request)
    if params.get("grant_type") and params["grant_type"] not in GRANTS:
        # RFC 6749 §5.2 (Procore's token endpoint is a standard OAuth 2.0 one)
        raise oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
    _validate(state, "/oauth/token", params)
    app = _authenticate(state, params)
    store = state.store
    grant = params["grant_type"]
    invalid = state.config.invalid_grant_status
    if grant == "authorization_code":
        code = store.auth_codes.get(str(params.get("code")))
        if (
            code is None
            or code["used"]
            or code["app_id"] != app["id"]
            or store.now() - code["created_at"] > state.config.auth_code_ttl_seconds
            or params.get("redirect_uri", code["redirect_uri"]) != code["redirect_uri"]
        ):
            raise oauth_error(
                invalid,
                "invalid_grant",
                "The provided authorization grant is "
                "invalid, expired, revoked, does not match the redirection URI "
                "used in the authorization request, or was issued to another "
                "client.",
            )
        code["used"] = True
        body = issue(state, app, code["user_id"], "authorization_code")
    elif grant == "refresh_token":
        old = store.refresh_tokens.get(str(params.get("refresh_token")))
        if old is None or old["used"] or old["app_id"] != app["id"]:
            raise oauth_error(invalid, "invalid_grant", "The refresh token is invalid")
        old["used"] = True  # single use: dead even if this response never arrives
        body = issue(state, app, old["user_id"], "refresh_token")
    elif grant == "client_credentials":
        if not app.get("service_user_id"):
            raise oauth_error(
                401, "unauthorized_client", "The client is not authorized to use this grant type."
            )
        body = issue(state, app, app["service_user_id"], "client_credentials")
    else:  # pragma: no cover - GRANTS is checked first
        raise oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
    return json_response(body, headers=NO_STORE)


@router.get("/oauth/token/info")
async def token_info(request: Request) -> Response:
    p = principal(request)
    record = sandbox(request).store.access_tokens[p.token]
    left = int(record["created_at"] + record["expires_in"] - sandbox(request).store.now())
    return json_response(
        {
            "resource_owner_id": p.user["id"],
            "scopes": [],
            "expires_in_seconds": max(0, left),
            "application": {"uid": p.app["client_id"]},
            "created_at": record["created_at"],
        }
    )


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    """200 even for an unknown token; kills the access token and its refresh token."""
    state = sandbox(request)
    params = await _client_params(request)
    _validate(state, "/oauth/revoke", params)
    app = _authenticate(state, params)
    store = state.store
    value = str(params["token"])
    access = store.access_tokens.get(value)
    refresh = store.refresh_tokens.get(value)
    if refresh is not None and refresh["app_id"] == app["id"]:
        refresh["used"] = True
        access = store.access_tokens.get(refresh["access_token"])
    if access is not None and access["app_id"] == app["id"]:
        access["revoked"] = True
        if access.get("refresh_token") in store.refresh_tokens:
            store.refresh_tokens[access["refresh_token"]]["used"] = True
    store.save()
    return json_response({})


def revoke_all(state: SandboxState) -> int:
    count = revoke_tokens(state.store.access_tokens, state.store.refresh_tokens)
    state.store.save()
    return count
