"""Who is asking: an admin/support browser session, a worker's device, or an API key.

`Principal` is the only thing routes see; its `company_id` scopes every query they make.
`require(scope)` builds a dependency that also checks the scope. HTML routes take
`WebPrincipal` (the signed-in admin or support user) and read forms with `checked_form` (CSRF).
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from fieldbridge.accounts.models import Role, Worker
from fieldbridge.accounts.repository import ApiKeyRepository, CompanyRepository, WorkerRepository
from fieldbridge.accounts.scopes import ALL_SCOPES, SUPPORT_SCOPES, WORKER_SCOPES
from fieldbridge.accounts.service import API_KEY_PREFIX, DEVICE_TOKEN_PREFIX, resolve_user_session
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.crypto import constant_time_equal, token_digest
from fieldbridge.kit.db import keep
from fieldbridge.kit.deps import SessionDep, SettingsDep
from fieldbridge.kit.errors import Forbidden, NotAuthenticated
from fieldbridge.kit.rawsql import instance
from fieldbridge.settings import Settings
from fieldbridge.web.render import SignInRequired

SESSION_COOKIE = "fb_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    company_id: int
    company_name: str
    kind: Literal["user", "worker", "api_key"]
    subject_id: int
    name: str
    scopes: frozenset[str]
    role: Role | None = None
    csrf_token: str | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def worker_id(self) -> int | None:
        return self.subject_id if self.kind == "worker" else None


def _stale(last_used: datetime | None, now: datetime) -> bool:
    """`last_used_at` is written at most once a minute per credential, not on every request."""
    return last_used is None or now - last_used >= LAST_USED_PRECISION


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _from_bearer(session: SessionDep, settings: Settings, token: str) -> Principal:
    now = utcnow()
    if token.startswith(API_KEY_PREFIX + "_"):
        key = await ApiKeyRepository.from_session(session).get_by_digest(token_digest(token))
        if key is not None:
            company = await CompanyRepository.from_session(session).get(key.company_id)
            assert company is not None
            if _stale(key.last_used_at, now):
                key.last_used_at = now
            return Principal(company.id, company.name, "api_key", key.id, key.name, frozenset(key.scopes))
    elif token.startswith(DEVICE_TOKEN_PREFIX + "_"):
        found = await WorkerRepository.from_session(session).device_with_owner(token_digest(token), now)
        if found is not None:
            device, worker, company = found
            keep(session, worker, company)  # later reads of the caller's worker cost no query
            if worker.active:
                if _stale(device.last_used_at, now):  # sliding lifetime, renewed once a minute
                    device.last_used_at = now
                    device.expires_at = now + timedelta(days=settings.device_token_days)
                return Principal(company.id, company.name, "worker", worker.id, worker.name, WORKER_SCOPES)
        raise NotAuthenticated(
            f"This phone's sign-in has ended: unused for {settings.device_token_days} days, a new PIN, "
            "or the worker was deactivated. Sign in again with the company code and PIN.",
            code="bad_token",
        )
    raise NotAuthenticated(
        "This token is not valid or was revoked. Create a new API key under Settings → API keys.",
        code="bad_token",
    )


# `_from_bearer`'s device look-up as a CTE named `caller` ($1 the token's digest, $2 now), for a
# statement on the driver connection that reads the call's own rows in the same round trip;
# its CALLER_WIDTH columns come first, for `phone_caller`.
CALLER_CTE = """caller AS (
SELECT t.id AS device_id, t.last_used_at, w.id AS worker_id, w.name AS worker_name, w.is_foreman,
  w.active AS worker_active, c.id AS company_id, c.name AS company_name, c.timezone
FROM device_tokens t
JOIN workers w ON w.id = t.worker_id AND w.company_id = t.company_id
JOIN companies c ON c.id = t.company_id
WHERE t.token_digest = $1 AND t.revoked_at IS NULL AND t.expires_at > $2)"""
CALLER_WIDTH = 9
_RENEW_SQL = "UPDATE device_tokens SET last_used_at = $2, expires_at = $3 WHERE id = $1"


@dataclass(frozen=True)
class PhoneCaller:
    principal: Principal
    worker: Worker  # not attached to any session
    time_zone: str | None  # the company's


def device_token(headers: Mapping[bytes, bytes]) -> str | None:
    """The bearer device token of a request's headers, else None."""
    scheme, _, value = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    token = value.strip()
    if scheme.lower() != "bearer" or not token.startswith(DEVICE_TOKEN_PREFIX + "_"):
        return None
    return token


async def phone_caller(
    conn: Any, row: Sequence[Any], settings: Settings, now: datetime
) -> PhoneCaller | None:
    """The active worker a `CALLER_CTE` row names, with the token's sliding lifetime renewed
    on the driver connection as `_from_bearer` renews it; the principal `_from_bearer` gives.
    None for an inactive worker (the route answers that call in full)."""
    device_id, last_used, worker_id, name, is_foreman, active, company_id, company_name, tz = row[
        :CALLER_WIDTH
    ]
    if not active:
        return None
    if _stale(last_used, now):
        await conn.execute(_RENEW_SQL, device_id, now, now + timedelta(days=settings.device_token_days))
    worker = instance(
        Worker,
        {"id": worker_id, "company_id": company_id, "name": name, "is_foreman": is_foreman, "active": True},
    )
    principal = Principal(company_id, company_name, "worker", worker_id, name, WORKER_SCOPES)
    return PhoneCaller(principal, worker, tz)


async def optional_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal | None:
    token = _bearer(request)
    if token is not None:
        return await _from_bearer(session, settings, token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    found = await resolve_user_session(session, cookie)
    if found is None:
        return None
    user, user_session = found
    company = await CompanyRepository.from_session(session).get(user.company_id)
    assert company is not None
    scopes = ALL_SCOPES if user.role == Role.admin else SUPPORT_SCOPES
    return Principal(
        company.id,
        company.name,
        "user",
        user.id,
        user.name,
        scopes,
        Role(user.role),
        user_session.csrf_token,
    )


async def api_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal, scope="function")],
) -> Principal:
    """The caller of an /api/v1 route. Cookie callers must send the CSRF header on writes."""
    if principal is None:
        raise NotAuthenticated(
            "Sign in first: send `Authorization: Bearer <API key or device token>`.",
            code="not_authenticated",
        )
    if principal.csrf_token is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not constant_time_equal(sent, principal.csrf_token):
            raise Forbidden("Missing or wrong CSRF token; reload the page and try again.", code="csrf")
    return principal


ApiPrincipal = Annotated[Principal, Depends(api_principal, scope="function")]


def require(*scopes: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the call through only with every named scope."""

    async def check(principal: ApiPrincipal) -> Principal:
        missing = [s for s in scopes if not principal.has(s)]
        if missing:
            raise Forbidden(
                f"This credential lacks the scope(s) {', '.join(missing)}. Ask an admin for a key with them.",
                code="missing_scope",
                details={"missing_scopes": missing},
            )
        return principal

    return check


async def web_principal(
    request: Request,
    principal: Annotated[Principal | None, Depends(optional_principal, scope="function")],
) -> Principal:
    """The signed-in admin or support user of an HTML route; sends others to the sign-in page."""
    if principal is None or principal.kind != "user":
        raise SignInRequired("Sign in to continue.", headers={"Location": f"/signin?next={request.url.path}"})
    return principal


WebPrincipal = Annotated[Principal, Depends(web_principal, scope="function")]


async def checked_form(request: Request, principal: Principal) -> dict[str, str]:
    """The posted form, after checking its CSRF token; file fields are left out."""
    form = await request.form()
    if request.method not in SAFE_METHODS:
        sent = form.get("csrf_token") or request.headers.get("X-CSRF-Token", "")
        if not isinstance(sent, str) or not constant_time_equal(sent, principal.csrf_token or ""):
            raise Forbidden("This form expired or came from elsewhere. Reload the page and try again.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


def require_web_scope(principal: Principal, scope: str) -> None:
    if not principal.has(scope):
        raise Forbidden("Your role cannot change this; ask an admin.", code="missing_scope")
