"""Who is calling, and what they may see: tokens, Procore-Company-Id, project and tool access.

Status rules (procore-api.md §1.4, §9, §11): missing/bad/expired/revoked token -> 401;
app not installed in the company, project outside the app's permitted projects, tool
permission missing or tool disabled -> 403; project the user cannot see -> 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from fieldbridge_sandbox.errors import api_error, forbidden, not_found, unauthorized
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import Record

TOOL_LEVELS = {"none": 0, "read_only": 1, "standard": 2, "admin": 3}


@dataclass(slots=True)
class Principal:
    token: str
    user: Record
    app: Record
    client_credentials: bool

    @property
    def sees_all_projects(self) -> bool:
        return bool(self.user.get("_company_admin") or self.user.get("_service_account"))


@dataclass(slots=True)
class Ctx:
    """The resolved scope of one API call."""

    state: SandboxState
    principal: Principal
    company: Record
    project: Record | None = None

    @property
    def project_id(self) -> int:
        assert self.project is not None
        return int(self.project["id"])


def sandbox(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def principal(request: Request) -> Principal:
    state = sandbox(request)
    header = request.headers.get("authorization", "")
    if not header[:7].lower() == "bearer ":
        raise unauthorized("The access token is invalid")
    token = header[7:].strip()
    store = state.store
    record = store.access_tokens.get(token)
    if record is None or record.get("revoked"):
        raise unauthorized("The access token is invalid")
    if store.now() >= record["created_at"] + record["expires_in"]:
        # Procore's error reference gives one 401 message for expired and revoked tokens
        raise unauthorized("The access token is invalid")
    user = store["users"].get(record["user_id"])
    app = store["apps"].get(record["app_id"])
    if user is None or app is None or not user.get("is_active", True):
        raise unauthorized("The access token is invalid")
    return Principal(token, user, app, record["grant"] == "client_credentials")


def installed_projects(p: Principal, company_id: int) -> list[int] | bool | None:
    """None: every project; a list: only those; False: app not installed in the company."""
    installs: dict[str, Any] = p.app["installs"]
    key = str(company_id)
    if key not in installs:
        return False
    value: list[int] | None = installs[key]
    return value


def company_from_header(request: Request, p: Principal, *, required: bool = True) -> Record | None:
    state = sandbox(request)
    raw = request.headers.get("procore-company-id")
    if not raw:
        if required:
            raise api_error(400, "Missing Procore-Company-Id header!", "missing_company_header")
        return None
    try:
        company = state.store["companies"].get(int(raw))
    except ValueError:
        company = None
    if company is None:
        raise not_found("Company not found")
    if installed_projects(p, company["id"]) is False:
        raise forbidden("App is not connected to this company", "app_not_installed")
    if not p.user.get("_service_account") and p.user["company_id"] != company["id"]:
        raise forbidden("User does not have access to this company", "no_company_access")
    return company


def company_ctx(request: Request, company_id: int | None = None) -> Ctx:
    """Token + Procore-Company-Id; `company_id` from path/query must name the same company."""
    p = principal(request)
    company = company_from_header(request, p)
    assert company is not None
    if company_id is not None and company_id != company["id"]:
        raise not_found("Company not found")
    return Ctx(sandbox(request), p, company)


def project_ctx(
    request: Request, project_id: int | None, *, write: bool = False, tool: str | None = None
) -> Ctx:
    ctx = company_ctx(request)
    if project_id is None:
        raise api_error(400, "project_id is required", "missing_parameter")
    project = ctx.state.store["projects"].get(project_id)
    if project is None or project["company_id"] != ctx.company["id"]:
        raise not_found("Project not found")
    allowed = installed_projects(ctx.principal, ctx.company["id"])
    if isinstance(allowed, list) and project_id not in allowed:
        raise forbidden("Resource outside access scope", "outside_access_scope")
    user = ctx.principal.user
    if not ctx.principal.sees_all_projects and project_id not in user["_project_ids"]:
        raise not_found("Project not found")
    if write and not project["active"]:
        raise forbidden("Project is inactive", "project_inactive")
    if tool is not None:
        require_tool(ctx.principal, project, tool, write)
    ctx.project = project
    return ctx


def tool_allowed(p: Principal, project: Record, tool: str, write: bool) -> bool:
    if tool in project.get("_tools_disabled", []):
        return False
    level = "admin" if p.user.get("_service_account") else p.user.get(f"_{tool}", "admin")
    needed = TOOL_LEVELS["admin"] if write else TOOL_LEVELS["read_only"]
    return TOOL_LEVELS.get(level, 0) >= needed


def require_tool(p: Principal, project: Record, tool: str, write: bool) -> None:
    if tool in project.get("_tools_disabled", []):
        raise forbidden(f"The {tool} tool is disabled in this project", "tool_disabled")
    if not tool_allowed(p, project, tool, write):
        verb = "create" if write else "view"
        raise forbidden(
            f"User does not have permission to {verb} Timecard Entries"
            if tool == "timecards"
            else f"User does not have right permissions for {tool}",
            "permission_denied",
        )


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise api_error(400, f"{name} must be an integer", "bad_parameter") from None
