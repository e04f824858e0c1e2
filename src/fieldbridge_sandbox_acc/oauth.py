"""APS OAuth v2 (authentication.yaml): authorize (a consent page), token, revoke, userinfo.

- Authorization codes live 5 minutes and are single-use; PKCE S256 binds a code to its
  verifier (`require_pkce` makes a code challenge mandatory; public clients always need one).
- Refresh tokens rotate: every refresh answers a new refresh token and the presented one dies
  at once (single use), so a client that loses the response is left with a dead token.
- Client authentication: HTTP Basic (web and server apps) or `client_id` (+ `client_secret`)
  in the form body; a public client (no secret) sends `client_id` only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from fieldbridge_sandbox.oauth import read_consent, redirect_allowed, revoke_tokens, with_query
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import principal, sandbox
from fieldbridge_sandbox_acc.errors import oauth_error
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import Record

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 section 4.1
KNOWN_SCOPES = frozenset(
    {
        "user:read",
        "user:write",
        "user-profile:read",
        "viewables:read",
        "data:read",
        "data:write",
        "data:create",
        "data:search",
        "bucket:create",
        "bucket:read",
        "bucket:update",
        "bucket:delete",
        "code:all",
        "account:read",
        "account:write",
        "openid",
    }
)
INVALID_GRANT = (
    "The authorization code or refresh token is invalid, expired, already used or was issued"
    " to another client."
)


def find_app(state: AccState, client_id: str | None) -> Record | None:
    return state.store.get("apps", client_id or "")


def _scopes(raw: str) -> list[str]:
    return [s for s in raw.replace("+", " ").split(" ") if s]


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@router.get("/authentication/v2/authorize")
async def authorize(request: Request) -> Response:
    state = sandbox(request)
    q = request.query_params
    app = find_app(state, q.get("client_id"))
    redirect_uri = q.get("redirect_uri", "")
    if app is None or not redirect_allowed(app, redirect_uri):
        message = "Unknown client_id" if app is None else "redirect_uri is not a registered callback URL"
        return templates.TemplateResponse(
            request, "authorize_error.html", {"message": message}, status_code=400
        )
    extra = {"state": q["state"]} if q.get("state") else {}

    def refuse(error: str, description: str) -> Response:
        params = {"error": error, "error_description": description, **extra}
        return RedirectResponse(with_query(redirect_uri, params), status_code=302)

    if q.get("response_type") != "code":
        return refuse("unsupported_response_type", "response_type must be code")
    scopes = _scopes(q.get("scope", ""))
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if not scopes or unknown:
        return refuse("invalid_scope", f"Unknown or missing scopes: {' '.join(unknown) or '(none)'}")
    challenge = q.get("code_challenge", "")
    method = q.get("code_challenge_method", "")
    if challenge and method != "S256":
        return refuse("invalid_request", "code_challenge_method must be S256")
    if not challenge and (state.config.require_pkce or not app.get("client_secret")):
        return refuse("invalid_request", "code_challenge (PKCE, S256) is required")
    users = sorted(state.store.rows("users"), key=lambda u: u["name"])
    hidden = {
        "client_id": app["client_id"],
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "code_challenge": challenge,
        **extra,
    }
    return templates.TemplateResponse(
        request, "authorize.html", {"app": app, "users": users, "scopes": scopes, "hidden": hidden}
    )


@router.post("/_sandbox/oauth/consent")
async def consent(request: Request) -> Response:
    """The consent form of the authorize page posts here (not APS surface)."""
    state = sandbox(request)
    denied = {"error": "access_denied", "error_description": "The user denied access"}
    read = await read_consent(request, lambda cid: find_app(state, cid), denied)
    if isinstance(read, Response):
        return read
    app, redirect_uri, extra, form = read.app, read.redirect_uri, read.extra, read.form
    user = state.store.get("users", str(form.get("user_id", "")))
    if user is None:
        return HTMLResponse("Pick a user", status_code=400)
    code = state.store.new_token("sbx_acc_code_")
    state.store.auth_codes[code] = {
        "app_id": app["id"],
        "user_id": user["id"],
        "redirect_uri": redirect_uri,
        "scopes": _scopes(str(form.get("scope", ""))),
        "code_challenge": str(form.get("code_challenge", "")),
        "created_at": state.store.now(),
        "used": False,
    }
    state.store.save()
    return RedirectResponse(with_query(redirect_uri, {"code": code, **extra}), status_code=302)


async def _form(request: Request) -> dict[str, str]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        raise oauth_error(400, "invalid_request", "The body must be application/x-www-form-urlencoded")
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _client(state: AccState, request: Request, params: dict[str, str]) -> Record:
    header = request.headers.get("authorization", "")
    client_id, secret = params.get("client_id"), params.get("client_secret")
    if header[:6].lower() == "basic ":
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            raise oauth_error(401, "invalid_client", "Malformed HTTP Basic credentials") from None
    app = find_app(state, client_id)
    if app is None:
        raise oauth_error(401, "invalid_client", "Unknown client_id")
    expected = app.get("client_secret")
    if expected and not hmac.compare_digest(str(secret or ""), expected):
        raise oauth_error(401, "invalid_client", "Client authentication failed")
    return app


def issue_tokens(
    state: AccState, app: Record, user_id: str | None, scopes: list[str], *, refresh: bool
) -> dict[str, Any]:
    store = state.store
    now = store.now()
    access = store.new_token("sbx_acc_at_")
    store.access_tokens[access] = {
        "app_id": app["id"],
        "user_id": user_id,
        "scopes": scopes,
        "expires_at": now + state.config.expires_in,
        "revoked": False,
    }
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.config.expires_in,
    }
    if refresh:
        token = store.new_token("sbx_acc_rt_")
        store.refresh_tokens[token] = {
            "app_id": app["id"],
            "user_id": user_id,
            "scopes": scopes,
            "access_token": access,
            "expires_at": now + state.config.refresh_ttl_seconds,
            "used": False,
        }
        body["refresh_token"] = token
    store.save()
    return body


@router.post("/authentication/v2/token")
async def token(request: Request) -> Response:
    state = sandbox(request)
    params = await _form(request)
    grant = params.get("grant_type", "")
    if grant not in ("authorization_code", "refresh_token", "client_credentials"):
        raise oauth_error(400, "unsupported_grant_type", "The grant type is not supported.")
    app = _client(state, request, params)
    store = state.store
    if grant == "authorization_code":
        code = store.auth_codes.get(params.get("code", ""))
        if (
            code is None
            or code["used"]
            or code["app_id"] != app["id"]
            or store.now() - code["created_at"] > state.config.auth_code_ttl_seconds
            or params.get("redirect_uri") != code["redirect_uri"]
        ):
            raise oauth_error(400, "invalid_grant", INVALID_GRANT)
        if code["code_challenge"]:
            verifier = params.get("code_verifier", "")
            if not PKCE_VERIFIER.fullmatch(verifier):
                raise oauth_error(
                    400,
                    "invalid_request",
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                )
            if not hmac.compare_digest(pkce_challenge(verifier), code["code_challenge"]):
                raise oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge")
        code["used"] = True
        body = issue_tokens(state, app, code["user_id"], code["scopes"], refresh=True)
    elif grant == "refresh_token":
        old = store.refresh_tokens.get(params.get("refresh_token", ""))
        if old is None or old["used"] or old["app_id"] != app["id"] or store.now() >= old["expires_at"]:
            raise oauth_error(400, "invalid_grant", INVALID_GRANT)
        scopes = _scopes(params.get("scope", "")) or old["scopes"]
        if not set(scopes) <= set(old["scopes"]):
            raise oauth_error(400, "invalid_scope", "A refresh cannot widen the granted scopes")
        old["used"] = True  # single use: dead even if this response never arrives
        body = issue_tokens(state, app, old["user_id"], scopes, refresh=True)
    else:
        if not app.get("client_secret"):
            raise oauth_error(401, "unauthorized_client", "A public client cannot use client_credentials")
        scopes = _scopes(params.get("scope", ""))
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            raise oauth_error(400, "invalid_scope", "Unknown or missing scopes")
        body = issue_tokens(state, app, None, scopes, refresh=False)
    return json_response(body, headers=NO_STORE)


@router.post("/authentication/v2/revoke")
async def revoke(request: Request) -> Response:
    """200 with no body, also for an unknown token (RFC 7009)."""
    state = sandbox(request)
    params = await _form(request)
    if not params.get("token") or params.get("token_type_hint") not in ("access_token", "refresh_token"):
        raise oauth_error(400, "invalid_request", "token and token_type_hint are required")
    app = _client(state, request, params)
    store = state.store
    value = params["token"]
    refresh = store.refresh_tokens.get(value)
    if refresh is not None and refresh["app_id"] == app["id"]:
        refresh["used"] = True
    access = store.access_tokens.get(value)
    if access is not None and access["app_id"] == app["id"]:
        access["revoked"] = True
    store.save()
    return Response(status_code=200)


@router.get("/userinfo")
async def userinfo(request: Request) -> Response:
    p = principal(request, scope="data:read")
    if p.user is None:
        raise oauth_error(401, "invalid_token", "userinfo needs a 3-legged token")
    user = p.user
    return json_response(
        {
            "sub": user["id"],
            "name": user["name"],
            "given_name": user["firstName"],
            "family_name": user["lastName"],
            "preferred_username": user["email"].split("@")[0],
            "email": user["email"],
            "email_verified": True,
        }
    )


def revoke_all(state: AccState) -> int:
    count = revoke_tokens(state.store.access_tokens, state.store.refresh_tokens)
    state.store.save()
    return count
