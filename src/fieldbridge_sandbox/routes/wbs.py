"""Work breakdown: cost codes, line item types, sub jobs, budget views (endpoints A.3)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int, sandbox
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error, not_found
from fieldbridge_sandbox.pagination import apply_filters, id_list, sort_rows
from fieldbridge_sandbox.routes.common import (
    changed,
    copy_fields,
    hard_delete,
    list_response,
    lookup,
    one,
    path_int,
    plain_list_response,
    save_and_respond,
    scoped,
    unprocessable,
)
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import Record

router = APIRouter()
DETAIL_ROW_SORT = "biller_type,biller,root_cost_code,cost_code,category_id"  # documented default


def lit_json(row: Record) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "name", "code", "base_type", "origin_id", "origin_data")}


def cost_code_serializer(state: SandboxState) -> Any:
    lits = state.store["line_item_types"]

    def serialize(row: Record) -> dict[str, Any]:
        out = {k: v for k, v in row.items() if not k.startswith("_") and k != "project_id"}
        out["parent"] = {"id": row["parent_id"]} if row["parent_id"] else None
        out["long_name"] = f"{row['full_code']} - {row['name']}"
        out["standard_cost_code_list_id"] = None
        out["line_item_types"] = [lit_json(t) for t in (lits.get(i) for i in row["_line_item_type_ids"]) if t]
        return out

    return serialize


@router.get("/rest/v1.0/cost_codes")
async def list_cost_codes(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    q = request.query_params
    rows = [r for r in ctx.state.store["cost_codes"].by(ctx.project_id) if not r["deleted_at"]]
    sub_job_id = query_int(request, "sub_job_id")
    if sub_job_id is not None:
        rows = [r for r in rows if r["biller_type"] == "SubJob" and r["biller_id"] == sub_job_id]
    ids = id_list(q, "filters[id]")
    if ids is not None:
        rows = [r for r in rows if r["id"] in ids]
    rows = apply_filters(rows, q, {"filters[origin_id]": lambda r, v: str(r["origin_id"]) == v})
    return list_response(request, rows, "cost_code", cost_code_serializer(ctx.state))


def _cost_code(ctx: Ctx, code_id: int) -> Record:
    row = ctx.state.store["cost_codes"].get(code_id)
    if row is None or row["project_id"] != ctx.project_id or row["deleted_at"]:
        raise not_found("Cost Code not found")
    return row


@router.get("/rest/v1.0/cost_codes/{id}")
async def show_cost_code(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    row = _cost_code(ctx, path_int(request, "id"))
    return one(request, row, "cost_code", cost_code_serializer(ctx.state))


@router.post("/rest/v1.0/cost_codes")
async def create_cost_code(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True)
    data = body["cost_code"]
    store = ctx.state.store
    parent = lookup(
        ctx.state, "cost_codes", data.get("parent_id"), project_id=ctx.project_id, field="parent_id"
    )
    sub = lookup(ctx.state, "sub_jobs", body.get("sub_job_id"), project_id=ctx.project_id, field="sub_job_id")
    biller = sub or ctx.project
    assert biller is not None
    full = f"{parent['full_code']}-{data['code']}" if parent else data["code"]
    now = store.now_iso()
    row = store.insert(
        "cost_codes",
        {
            "project_id": ctx.project_id,
            "name": data["name"],
            "code": data["code"],
            "full_code": full,
            "sortable_code": full,
            "parent_id": parent["id"] if parent else None,
            "biller_id": biller["id"],
            "biller_type": "SubJob" if sub else "Project",
            "biller": biller["name"],
            "biller_origin_id": None,
            "budgeted": False,
            "position": data.get("position", 0),
            "standard_cost_code_id": None,
            "origin_id": data.get("origin_id"),
            "origin_data": data.get("origin_data"),
            "created_at": now,
            "updated_at": now,
            "deleted_at": None,
            "_line_item_type_ids": [t["id"] for t in store["line_item_types"].by(ctx.company["id"])],
        },
    )
    changed(ctx, "Cost Codes", "create", row)
    return one(request, row, "cost_code", cost_code_serializer(ctx.state), 201)


@router.patch("/rest/v1.0/cost_codes/{id}")
async def update_cost_code(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True)
    row = _cost_code(ctx, path_int(request, "id"))
    for field in ("name", "code", "origin_id", "origin_data", "position"):
        if field in body["cost_code"]:
            row[field] = body["cost_code"][field]
    row["updated_at"] = ctx.state.store.now_iso()
    changed(ctx, "Cost Codes", "update", row)
    return one(request, row, "cost_code", cost_code_serializer(ctx.state))


@router.get("/rest/v1.0/line_item_types")
async def list_line_item_types(request: Request) -> Response:
    company_id = query_int(request, "company_id")
    project_id = query_int(request, "project_id")
    if company_id is None and project_id is None:
        raise api_error(400, "You must supply either a company_id or project_id", "missing_parameter")
    ctx = project_ctx(request, project_id) if project_id is not None else company_ctx(request, company_id)
    rows = apply_filters(
        ctx.state.store["line_item_types"].by(ctx.company["id"]),
        request.query_params,
        {"filters[origin_id]": lambda r, v: str(r["origin_id"]) == v},
    )
    return list_response(request, rows, "lit", lit_json)


@router.post("/rest/v1.0/line_item_types")
async def create_line_item_type(request: Request) -> Response:
    body = await validated_body(request)
    ctx = company_ctx(request, body["company_id"])
    data = body["line_item_type"]
    if not data.get("name"):
        raise unprocessable("name", "can't be blank")
    row = ctx.state.store.insert(
        "line_item_types",
        {
            "company_id": ctx.company["id"],
            "name": data["name"],
            "code": data.get("csv_import_code") or data["name"][:1].upper(),
            "base_type": data.get("base_type", "other"),
            "origin_id": data.get("origin_id"),
            "origin_data": data.get("origin_data"),
        },
    )
    changed(ctx, "Line Item Types", "create", row, project_id=None)
    return one(request, row, "lit", lit_json, 201)


@router.get("/rest/v1.0/line_item_types/{id}")
async def show_line_item_type(request: Request) -> Response:
    ctx = company_ctx(request, _required(request, "company_id"))
    return one(
        request, scoped(ctx, "line_item_types", path_int(request, "id"), "Line Item Type"), "lit", lit_json
    )


@router.patch("/rest/v1.0/line_item_types/{id}")
async def update_line_item_type(request: Request) -> Response:
    body = await validated_body(request)
    ctx = company_ctx(request, body["company_id"])
    row = scoped(ctx, "line_item_types", path_int(request, "id"), "Line Item Type")
    data = body["line_item_type"]
    if "name" in data and not data["name"]:
        raise unprocessable("name", "can't be blank")
    if "csv_import_code" in data:
        row["code"] = data["csv_import_code"]
    copy_fields(row, data, ("name", "base_type", "origin_id", "origin_data"))
    changed(ctx, "Line Item Types", "update", row, project_id=None)
    return one(request, row, "lit", lit_json)


def _required(request: Request, name: str) -> int:
    value = query_int(request, name)
    if value is None:
        raise api_error(400, f"{name} is required", "missing_parameter")
    return value


def sub_job_json(row: Record) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "name", "code", "origin_id", "origin_data", "created_at", "updated_at")}


@router.get("/rest/v1.0/sub_jobs")
async def list_sub_jobs(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    return list_response(request, ctx.state.store["sub_jobs"].by(ctx.project_id), "sub_job", sub_job_json)


def _sub_job(ctx: Ctx, sub_job_id: int) -> Record:
    return scoped(ctx, "sub_jobs", sub_job_id, "Sub Job")


@router.get("/rest/v1.0/sub_jobs/{id}")
async def show_sub_job(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    return one(request, _sub_job(ctx, path_int(request, "id")), "sub_job", sub_job_json)


@router.patch("/rest/v1.0/sub_jobs/{id}")
async def update_sub_job(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True)
    row = _sub_job(ctx, path_int(request, "id"))
    data = body["sub_job"]
    if "name" in data and not data["name"]:
        raise unprocessable("name", "can't be blank")
    copy_fields(row, data, ("name", "code", "origin_id", "origin_data"))
    return save_and_respond(request, ctx, "Sub Jobs", row, "sub_job", sub_job_json)


@router.delete("/rest/v1.0/sub_jobs/{id}")
async def delete_sub_job(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"), write=True)
    return hard_delete(ctx, "sub_jobs", "Sub Jobs", _sub_job(ctx, path_int(request, "id")))


@router.post("/rest/v1.0/sub_jobs")
async def create_sub_job(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True)
    data = body["sub_job"]
    if not data.get("name"):
        raise unprocessable("name", "can't be blank")
    row = ctx.state.store.insert(
        "sub_jobs",
        {
            "project_id": ctx.project_id,
            "name": data["name"],
            "code": data.get("code"),
            "origin_id": data.get("origin_id"),
            "origin_data": data.get("origin_data"),
            "created_at": ctx.state.store.now_iso(),
            "updated_at": ctx.state.store.now_iso(),
        },
    )
    changed(ctx, "Sub Jobs", "create", row)
    return one(request, row, "sub_job", sub_job_json, 201)


def budget_view_json(row: Record) -> dict[str, Any]:
    base = f"/rest/v1.0/budget_views/{row['id']}"
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "created_at": row["created_at"],
        "created_by": row["created_by"],
        "updated_at": row["updated_at"],
        "role": row["role"],
        "links": {
            "detail_rows": f"{base}/detail_rows?project_id={row['project_id']}",
            "summary_rows": f"{base}/summary_rows?project_id={row['project_id']}",
        },
    }


@router.get("/rest/v1.0/budget_views")
async def list_budget_views(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    return list_response(
        request, ctx.state.store["budget_views"].by(ctx.project_id), "budget_view", budget_view_json
    )


def timecard_hours(state: SandboxState, project_id: int) -> dict[tuple[int, int], float]:
    hours: dict[tuple[int, int], float] = defaultdict(float)
    for entry in state.store["timecard_entries"].by(project_id):
        if entry.get("deleted_at") or not entry.get("cost_code_id"):
            continue
        key = (entry["cost_code_id"], entry.get("line_item_type_id") or 0)
        hours[key] += float(entry.get("hours") or 0)
    return hours


@router.get("/rest/v1.0/budget_views/{budget_view_id}/detail_rows")
async def detail_rows(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    store = sandbox(request).store
    view = store["budget_views"].get(path_int(request, "budget_view_id"))
    if view is None or view["project_id"] != ctx.project_id:
        raise not_found("Budget View not found")
    q = request.query_params
    hours = timecard_hours(ctx.state, ctx.project_id)
    kind = q.get("budget_row_type", "budgeted")
    rows: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for bli in store["budget_line_items"].by(ctx.project_id):
        key = (bli["cost_code_id"], bli["line_item_type_id"])
        seen.add(key)
        if kind != "unbudgeted":
            rows.append(
                _detail_row(ctx, bli["cost_code_id"], bli["line_item_type_id"], bli, hours.get(key, 0.0))
            )
    if kind in ("all", "unbudgeted"):
        rows += [
            _detail_row(ctx, cc, lit, None, h) for (cc, lit), h in hours.items() if (cc, lit) not in seen
        ]
    for name, field in (
        ("cost_code_id", "cost_code_id"),
        ("category_id", "category_id"),
        ("budget_line_item_id", "id"),
        ("root_cost_code_id", "root_cost_code_id"),
    ):
        ids = id_list(q, name)
        if ids is not None:
            rows = [r for r in rows if r[field] in ids]
    rows = sort_rows(rows, q.get("sort") or DETAIL_ROW_SORT, set(DETAIL_ROW_SORT.split(",")) | {"project"})
    return plain_list_response(request, rows)


def _detail_row(ctx: Ctx, cost_code_id: int, lit_id: int, bli: Record | None, hours: float) -> dict[str, Any]:
    store = ctx.state.store
    code = store["cost_codes"].get(cost_code_id) or {}
    root = store["cost_codes"].get(code.get("parent_id") or 0) or code
    lit = store["line_item_types"].get(lit_id) or {}
    project = ctx.project or {}
    amount = bli["original_budget_amount"] if bli else 0.0
    return {
        "id": bli["id"] if bli else None,
        "deletable": bli is not None,
        "company_id": ctx.company["id"],
        "company": ctx.company["name"],
        "project_id": project.get("id"),
        "project": project.get("name"),
        "wbs_code_id": None,
        "biller_id": code.get("biller_id"),
        "biller": code.get("biller"),
        "biller_type": code.get("biller_type"),
        "root_cost_code_id": root.get("id"),
        "root_cost_code": f"{root.get('full_code')} - {root.get('name')}",
        "cost_code_id": cost_code_id,
        "cost_code": f"{code.get('full_code')} - {code.get('name')}",
        "cost_code_origin_id": code.get("origin_id"),
        "category_id": lit_id or None,
        "category": lit.get("name"),
        "budget_modifications": "0.0",
        "original_budget_amount": f"{amount:.1f}",
        "budget_forecast": {
            "id": None,
            "manual_amount": None,
            "automatic_amount": None,
            "amount": f"{amount:.1f}",
            "automatically_calculated": True,
            "calculation_strategy": "automatic",
            "notes": None,
        },
        "currency_configuration": {"currency_iso_code": "USD"},
        "unbudgeted_reason": None if bli else "No budget line item",
        # view columns of the seeded "Procore Standard Budget" view
        "budgeted_hours": f"{bli['quantity']:.1f}" if bli and bli["uom"] == "HR" else "0.0",
        "timecard_entry_hours": f"{hours:.1f}",
    }


@router.get("/rest/v1.0/budget_line_items/{id}")
async def show_budget_line_item(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    store = ctx.state.store
    bli = store["budget_line_items"].get(path_int(request, "id"))
    if bli is None or bli["project_id"] != ctx.project_id:
        raise not_found("Budget Line Item not found")
    code = store["cost_codes"].get(bli["cost_code_id"]) or {}
    root = store["cost_codes"].get(code.get("parent_id") or 0) or code
    lit = store["line_item_types"].get(bli["line_item_type_id"]) or {}
    amount = bli["original_budget_amount"]
    zero = 0.0
    return json_response(
        {
            "id": bli["id"],
            "original_budget_amount": amount,
            "uom": bli["uom"],
            "quantity": bli["quantity"],
            "unit_cost": bli["unit_cost"],
            "calculation_strategy": bli["calculation_strategy"],
            "approved_budget_changes": zero,
            "revised_budget": amount,
            "pending_budget_changes": zero,
            "projected_budget": amount,
            "committed_costs": zero,
            "direct_costs": zero,
            "pending_cost_changes": zero,
            "projected_costs": zero,
            "budget_forecast": amount,
            "estimated_cost_at_completion": amount,
            "projected_over_under": zero,
            "cost_code": {k: code.get(k) for k in ("id", "name", "code", "full_code")},
            "division": {k: root.get(k) for k in ("id", "name", "full_code")},
            "line_item_type": {"id": lit.get("id"), "name": lit.get("name")},
            "currency_configuration": {"currency_iso_code": "USD"},
        }
    )
