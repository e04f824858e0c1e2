"""Who is calling: bearer tokens with APS scopes, the region header, project membership.

Rules: a missing, unknown, expired or revoked token is 401; a token without the scope an
operation needs is 403 (`data:read` for reads, `data:write` for writes); a project the user is
not a member of, or that lives in another region than `x-ads-region` names (default US), is
404 like ACC answers for a project it cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from fieldbridge_sandbox_acc.errors import AccError, insufficient_scope, not_found, unauthorized
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import Record

READ_METHODS = frozenset({"GET", "HEAD"})
REGIONS = ("US", "EMEA", "AUS", "CAN", "DEU", "IND", "JPN", "GBR")


@dataclass(slots=True)
class Principal:
    token: str
    user: Record | None  # None for a 2-legged (client credentials) token
    app: Record
    scopes: frozenset[str]


def sandbox(request: Request) -> AccState:
    state: AccState = request.app.state.sandbox
    return state


def principal(request: Request, *, scope: str | None = None) -> Principal:
    """The caller's token; `scope` defaults to data:read for reads and data:write otherwise."""
    state = sandbox(request)
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        raise unauthorized("The token is not provided in the request.")
    token = header[7:].strip()
    store = state.store
    record = store.access_tokens.get(token)
    if record is None or record.get("revoked") or store.now() >= record["expires_at"]:
        raise unauthorized()
    app = store.get("apps", record["app_id"])
    user = store.get("users", record["user_id"]) if record.get("user_id") else None
    if app is None:
        raise unauthorized()
    scopes = frozenset(record["scopes"])
    needed = scope or ("data:read" if request.method in READ_METHODS else "data:write")
    if needed not in scopes and not (needed == "data:read" and "data:write" in scopes):
        raise insufficient_scope(needed)
    return Principal(token, user, app, scopes)


def region(request: Request) -> str:
    """The region the caller addresses: `x-ads-region` (or `region` query), default US."""
    value = request.headers.get("x-ads-region") or request.query_params.get("region") or "US"
    return value.upper()


def user_of(p: Principal) -> Record:
    if p.user is None:
        # Issues and Forms need a user context (APS: "3 legged token only")
        raise AccError(
            403,
            {
                "code": "FORBIDDEN",
                "title": "Forbidden",
                "detail": "This operation needs a user context (3-legged) token.",
            },
        )
    return p.user


def acc_project(request: Request, p: Principal, project_id: str) -> Record:
    """An ACC project id (no `b.` prefix) the caller can see in the addressed region."""
    state = sandbox(request)
    if project_id.startswith("b."):
        raise not_found(
            f"Project {project_id} not found: ACC APIs take the project id without the"
            " Data Management `b.` prefix"
        )
    project = state.store.get("projects", project_id)
    user = user_of(p)
    if project is None or user["id"] not in project["_member_ids"]:
        raise not_found(f"Project {project_id} not found")
    if project["region"] != region(request):
        raise not_found(f"Project {project_id} not found in region {region(request)}")
    return project


def is_project_admin(project: Record, user: Record) -> bool:
    return user["id"] in project["_admin_ids"]
