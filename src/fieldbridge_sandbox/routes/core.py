"""Identity, companies and projects (procore-api-endpoints.md A.2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import (
    company_ctx,
    company_from_header,
    installed_projects,
    principal,
    project_ctx,
    query_int,
    sandbox,
)
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error
from fieldbridge_sandbox.pagination import apply_filters, flag, id_list, sort_rows, updated_between
from fieldbridge_sandbox.routes.common import changed, list_response, path_int
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()

PROJECT_FIELDS = (
    "id",
    "name",
    "display_name",
    "project_number",
    "address",
    "city",
    "state_code",
    "country_code",
    "zip",
    "county",
    "time_zone",
    "latitude",
    "longitude",
    "stage",
    "phone",
    "created_at",
    "updated_at",
    "active",
    "origin_id",
    "origin_data",
    "origin_code",
    "total_value",
    "start_date",
    "completion_date",
    "projected_finish_date",
    "is_demo",
)
PROJECT_NULLS = (
    "owners_project_id",
    "store_number",
    "accounting_project_number",
    "designated_market_area",
    "project_region_id",
    "project_bid_type_id",
    "project_owner_type_id",
    "photo_id",
    "fax",
    "sector",
    "work_scope",
    "delivery_method",
    "estimated_budget",
    "priority",
    "parent_job_id",
    "parent_job",
    "project_template",
    "project_sector_id",
)


def project_json(row: Record, company: Record | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {f: row.get(f) for f in PROJECT_FIELDS}
    out.update(dict.fromkeys(PROJECT_NULLS))
    out["estimated_value"] = row.get("total_value")
    out["project_stage"] = {"id": 1, "name": row["stage"]}
    out["company"] = {"id": row["company_id"], "name": (company or {}).get("name")}
    out["created_by"] = None
    out["custom_fields"] = {}
    return out


def project_show_json(row: Record, company: Record | None = None) -> dict[str, Any]:
    out = project_json(row, company)
    out.update(
        {
            "logo_id": None,
            "logo_url": None,
            "template": row.get("template", False),
            "tz_name": row.get("tz_name"),
            "flag": None,
            "is_erp_integrated": False,
            "project_stage_id": 1,
            "description": None,
            "square_feet": None,
            "warranty_start_date": None,
            "warranty_end_date": None,
            "locale": "en",
            "public_notes": None,
            "actual_start_date": row.get("start_date"),
            "standard_cost_code_list_id": None,
            "code": row.get("project_number"),
            "office": None,
            "project_type": None,
            "program": None,
            "departments": [],
            "dictionary_type": None,
            "persistent_message": None,
            "from_project_template_id": None,
            "photo_url": None,
            "inbound_email": None,
            "inbound_email_address": None,
            "estimated_start_date": row.get("start_date"),
            "estimated_completion_date": row.get("completion_date"),
            "project_bid_type": None,
            "project_owner_type": None,
            "project_region": None,
        }
    )
    return out


def _compact(row: Record) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "display_name": row["display_name"]}


@router.get("/rest/v1.0/me")
async def me(request: Request) -> Response:
    p = principal(request)
    company_from_header(request, p, required=p.client_credentials)
    return json_response({"id": p.user["id"], "login": p.user["login"], "name": p.user["name"]})


@router.get("/rest/v1.0/companies")
async def companies(request: Request) -> Response:
    p = principal(request)
    company_from_header(request, p, required=p.client_credentials)
    store = sandbox(request).store
    ids = [int(c) for c in p.app["installs"]] if p.user.get("_service_account") else [p.user["company_id"]]
    rows = [c for c in (store["companies"].get(i) for i in ids) if c is not None]
    uid = p.user["company_id"]
    return list_response(
        request,
        rows,
        "company",
        lambda c: {
            "id": c["id"],
            "name": c["name"],
            "is_active": c["is_active"],
            "logo_url": None,
            "pcn_business_experience": False,
            "my_company": c["id"] == uid,
        },
    )


def _visible_projects(request: Request, company_id: int | None) -> tuple[Any, list[Record]]:
    if company_id is None:
        raise api_error(400, "company_id is required", "missing_parameter")
    ctx = company_ctx(request, company_id)
    rows = ctx.state.store["projects"].by(company_id)
    allowed = installed_projects(ctx.principal, company_id)
    if isinstance(allowed, list):
        permitted = set(allowed)
        rows = [r for r in rows if r["id"] in permitted]
    if not ctx.principal.sees_all_projects:
        mine = set(ctx.principal.user["_project_ids"])
        rows = [r for r in rows if r["id"] in mine]
    q = request.query_params
    status = q.get("filters[by_status]", "Active")
    if status == "Active":
        rows = [r for r in rows if r["active"]]
    elif status == "Inactive":
        rows = [r for r in rows if not r["active"]]
    ids = id_list(q, "filters[id]")
    if ids is not None:
        rows = [r for r in rows if r["id"] in ids]
    rows = apply_filters(
        rows,
        q,
        {
            "filters[name]": lambda r, v: v.lower() in r["name"].lower(),
            "filters[origin_id]": lambda r, v: str(r.get("origin_id")) == v,
            "filters[project_number]": lambda r, v: r.get("project_number") == v,
            "filters[updated_at]": updated_between("updated_at"),
            "filters[created_at]": updated_between("created_at"),
        },
    )
    return ctx, sort_rows(rows, q.get("sort"), {"name", "display_name"})


@router.get("/rest/v1.0/projects")
async def list_projects(request: Request) -> Response:
    ctx, rows = _visible_projects(request, query_int(request, "company_id"))
    if request.query_params.get("serializer_view") == "compact":
        return list_response(request, rows, "project.compact", _compact)
    company = ctx.company
    return list_response(request, rows, "project", lambda r: project_json(r, company))


@router.get("/rest/v1.1/projects")
async def list_projects_v11(request: Request) -> Response:
    ctx, rows = _visible_projects(request, query_int(request, "company_id"))
    view = request.query_params.get("view", "normal")
    company = ctx.company
    if view == "ids":
        return json_response([r["id"] for r in rows])
    if view == "compact":
        return list_response(request, rows, "project.compact", _compact, default=100, maximum=300)
    return list_response(
        request, rows, f"project.v11.{view}", lambda r: project_json(r, company), default=100, maximum=300
    )


@router.get("/rest/v1.0/projects/{id}")
async def show_project(request: Request) -> Response:
    company_id = query_int(request, "company_id")
    if company_id is None:  # a required query parameter of the show operation
        raise api_error(400, "company_id is required", "missing_parameter")
    ctx = project_ctx(request, path_int(request, "id"))
    if company_id != ctx.company["id"]:
        raise api_error(404, "Project not found", "not_found")
    assert ctx.project is not None
    return json_response(project_show_json(ctx.project, ctx.company))


@router.patch("/rest/v1.0/projects/{id}")
async def update_project(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "id"))
    project = ctx.project
    assert project is not None
    changes = body["project"]
    for field in (
        "name",
        "project_number",
        "address",
        "city",
        "state_code",
        "zip",
        "phone",
        "active",
        "origin_id",
        "origin_data",
        "origin_code",
        "start_date",
        "completion_date",
    ):
        if field in changes:
            project[field] = changes[field]
    project["display_name"] = f"{project['project_number']} - {project['name']}"
    project["updated_at"] = ctx.state.store.now_iso()
    changed(ctx, "Projects", "update", project, project_id=project["id"])
    return json_response(project_show_json(project, ctx.company))


@router.get("/rest/v1.0/companies/{company_id}/projects")
async def company_projects(request: Request) -> Response:
    company_id = path_int(request, "company_id")
    ctx = company_ctx(request, company_id)
    rows = ctx.state.store["projects"].by(company_id)
    return json_response(
        [
            {
                "id": r["id"],
                "name": r["name"],
                "address": {
                    "street": r["address"],
                    "city": r["city"],
                    "state_code": r["state_code"],
                    "zip": r["zip"],
                    "country_code": r["country_code"],
                },
                "stage_name": r["stage"],
                "status_name": "Active" if r["active"] else "Inactive",
                "type_name": None,
                "open_items": [],
                "created_by": None,
            }
            for r in rows
        ]
    )


@router.get("/rest/v1.0/projects/{project_id}/users")
async def project_users(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    pid = ctx.project_id
    rows = [
        u
        for u in ctx.state.store["users"].by(ctx.company["id"])
        if pid in u["_project_ids"] and u.get("is_active", True)
    ]
    return list_response(request, _filter_users(request, rows), "user", user_json)


@router.get("/rest/v1.0/projects/{project_id}/users/{id}")
async def project_user(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    user = ctx.state.store["users"].get(path_int(request, "id"))
    if user is None or ctx.project_id not in user["_project_ids"] or not user.get("is_active", True):
        raise api_error(404, "User not found", "not_found")
    return json_response(user_json(user))


@router.get("/rest/v1.0/companies/{company_id}/users")
async def company_users(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    rows = [u for u in ctx.state.store["users"].by(ctx.company["id"]) if u.get("is_active", True)]
    return list_response(request, _filter_users(request, rows), "user", user_json)


def _filter_users(request: Request, rows: list[Record]) -> list[Record]:
    """The directory filters both user lists document (incremental sync uses `updated_at`)."""
    q = request.query_params
    ids = id_list(q, "filters[id]")
    if ids is not None:
        rows = [u for u in rows if u["id"] in ids]
    employee = flag(q, "filters[employee]")
    if employee is not None:
        rows = [u for u in rows if bool(u.get("is_employee")) == employee]
    rows = apply_filters(
        rows,
        q,
        {
            "filters[created_at]": updated_between("created_at"),
            "filters[updated_at]": updated_between("updated_at"),
            "filters[origin_id]": lambda u, v: str(u.get("origin_id")) == v,
            "filters[search]": lambda u, v: (
                v.lower() in f"{u['name']} {u.get('email_address') or ''} {u.get('job_title') or ''}".lower()
            ),
        },
    )
    return sort_rows(rows, q.get("sort"), {"name", "job_title"})


def user_json(u: Record) -> dict[str, Any]:
    out = {k: v for k, v in u.items() if not k.startswith("_") and k not in ("company_id", "login")}
    out["initials"] = f"{u['first_name'][:1]}{u['last_name'][:1]}"
    return out
