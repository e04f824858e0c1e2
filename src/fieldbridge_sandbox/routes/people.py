"""People ("parties": users and reference workers), project and company directories (A.9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.pagination import apply_filters, flag, id_list
from fieldbridge_sandbox.routes.common import changed, list_response, one, path_int
from fieldbridge_sandbox.store import Record

router = APIRouter()

PERSON_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "name",
    "is_employee",
    "employee_id",
    "user_id",
    "user_uuid",
    "work_classification_id",
    "origin_id",
    "job_title",
    "vendor",
    "contact",
    "created_at",
    "updated_at",
)


def person_json(row: Record) -> dict[str, Any]:
    return {f: row.get(f) for f in PERSON_FIELDS}


def _filtered(request: Request, rows: list[Record]) -> list[Record]:
    q = request.query_params
    employee = flag(q, "filters[is_employee]")
    if employee is not None:
        rows = [r for r in rows if r["is_employee"] == employee]
    if flag(q, "filters[reference_users_only]"):
        rows = [r for r in rows if r["user_id"] is None]
    if flag(q, "filters[without_reference_users]"):
        rows = [r for r in rows if r["user_id"] is not None]
    ids = id_list(q, "filters[id]")
    if ids is not None:
        rows = [r for r in rows if r["id"] in ids]
    return apply_filters(
        rows,
        q,
        {
            "filters[search]": lambda r, v: (
                v.lower()
                in (f"{r['name']} {r['contact'].get('email') or ''} {r.get('employee_id') or ''}".lower())
            ),
            "filters[job_title]": lambda r, v: r.get("job_title") == v,
            "filters[origin_id]": lambda r, v: str(r.get("origin_id")) == v,
        },
    )


@router.get("/rest/v1.0/projects/{project_id}/people")
async def project_people(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    rows = ctx.state.store["people"].by(ctx.company["id"])
    if not flag(request.query_params, "filters[include_company_people]"):
        pid = ctx.project_id
        rows = [r for r in rows if pid in r["_project_ids"]]
    return list_response(request, _filtered(request, rows), "person", person_json)


@router.get("/rest/v1.0/companies/{company_id}/people")
async def company_people(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    rows = ctx.state.store["people"].by(ctx.company["id"])
    return list_response(request, _filtered(request, rows), "person", person_json)


def _create_person(ctx: Ctx, body: dict[str, Any], project_ids: list[int]) -> Record:
    data = body["person"]
    first = data.get("first_name") or ""
    now = ctx.state.store.now_iso()
    return ctx.state.store.insert(
        "people",
        {
            "company_id": ctx.company["id"],
            "first_name": first,
            "last_name": data["last_name"],
            "name": f"{first} {data['last_name']}".strip(),
            "is_employee": bool(data.get("is_employee", False)),
            "employee_id": data.get("employee_id"),
            "user_id": None,
            "user_uuid": None,
            "work_classification_id": data.get("work_classification_id"),
            "origin_id": data.get("origin_id"),
            "job_title": data.get("job_title"),
            "vendor": None,
            "contact": {"is_active": True, "email": data.get("email_address")},
            "created_at": now,
            "updated_at": now,
            "_project_ids": project_ids,
        },
    )


@router.post("/rest/v1.0/companies/{company_id}/people")
async def create_company_person(request: Request) -> Response:
    body = await validated_body(request)
    ctx = company_ctx(request, path_int(request, "company_id"))
    row = _create_person(ctx, body, [])
    changed(ctx, "Company Users", "create", row, project_id=None)
    return one(request, row, "person", person_json, 201)


@router.post("/rest/v1.0/projects/{project_id}/people")
async def create_project_person(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True)
    row = _create_person(ctx, body, [ctx.project_id])
    changed(ctx, "Project Users", "create", row)
    return one(request, row, "person", person_json, 201)
