"""Observation types (category Safety) and observation items (A.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error, not_found
from fieldbridge_sandbox.pagination import apply_filters, filter_ids, flag, id_list, str_list
from fieldbridge_sandbox.pagination import updated_between as between
from fieldbridge_sandbox.routes.common import (
    insert_and_respond,
    list_response,
    login_ref,
    lookup,
    one,
    path_int,
    save_and_respond,
    soft_delete,
    stamped,
)
from fieldbridge_sandbox.routes.safety import custom_fields, pick
from fieldbridge_sandbox.store import Record

router = APIRouter()
RESOURCE = "Observation Items"
STATUSES = ["initiated", "ready_for_review", "not_accepted", "closed"]  # filter ints 0..3
ITEM_FIELDS = ("name", "description", "status", "priority", "due_date", "personal", "number")
TYPE_FIELDS = (
    "id",
    "name",
    "category",
    "category_key",
    "category_id",
    "active",
    "company_active",
    "parent_inactive",
    "in_use",
    "kind",
    "name_translations",
    "localized_name",
)


def type_json(row: Record) -> dict[str, Any]:
    return {k: row.get(k) for k in TYPE_FIELDS}


@router.get("/rest/v1.0/observations/types")
async def list_types(request: Request) -> Response:
    project_id = query_int(request, "project_id")
    company_id = query_int(request, "company_id")
    if project_id is None and company_id is None:
        raise api_error(400, "You must supply either a company_id or project_id", "missing_parameter")
    ctx = project_ctx(request, project_id) if project_id is not None else company_ctx(request, company_id)
    return list_response(
        request, ctx.state.store["observation_types"].by(ctx.company["id"]), "obs_type", type_json
    )


@router.get("/rest/v1.0/projects/{project_id}/observation_types")
async def list_project_types(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    rows = ctx.state.store["observation_types"].by(ctx.company["id"])
    active = flag(request.query_params, "filters[active]")
    if active is not None:
        rows = [r for r in rows if r["active"] == active]
    return list_response(request, rows, "obs_type", type_json)


@router.get("/rest/v1.0/companies/{company_id}/observation_types")
async def list_company_types(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    rows = ctx.state.store["observation_types"].by(ctx.company["id"])
    return list_response(request, rows, "obs_type", type_json)


def item_shape(ctx: Ctx) -> Any:
    store = ctx.state.store

    def serialize(row: Record) -> dict[str, Any]:
        out = {
            k: row.get(k)
            for k in (
                "id",
                *ITEM_FIELDS,
                "created_at",
                "updated_at",
                "deleted_at",
                "closed_at",
                "date_notified",
            )
        }
        location = store["locations"].get(row.get("location_id") or 0)
        assignee = store["users"].get(row.get("assignee_id") or 0)
        out.update(
            {
                "description_rich_text": row.get("description"),
                "type": type_json(store["observation_types"].get(row["type_id"]) or {}),
                "location": None
                if location is None
                else {
                    k: location.get(k)
                    for k in ("id", "name", "node_name", "parent_id", "created_at", "updated_at")
                },
                "assignee": None
                if assignee is None
                else {"id": assignee["id"], "name": assignee["name"], "vendor": assignee.get("vendor")},
                "created_by": login_ref(store["users"].get(row["created_by_id"])),
                "hazard": pick(store["hazards"].get(row.get("hazard_id") or 0)),
                "contributing_condition": pick(
                    store["contributing_conditions"].get(row.get("contributing_condition_id") or 0)
                ),
                "contributing_behavior": pick(
                    store["contributing_behaviors"].get(row.get("contributing_behavior_id") or 0)
                ),
                "trade": None,
                "origin": None,
                "attachments": [],
                "distribution_members": [],
                "specification_section": None,
                "custom_fields": row.get("custom_fields", {}),
                "permissions": {"can_edit": True},
            }
        )
        return out

    return serialize


def _apply(ctx: Ctx, row: Record, data: dict[str, Any]) -> None:
    for field in ITEM_FIELDS:
        if field in data:
            row[field] = data[field]
    cid, pid = ctx.company["id"], ctx.project_id
    for field, table, scope in (
        ("type_id", "observation_types", "c"),
        ("location_id", "locations", "p"),
        ("hazard_id", "hazards", "c"),
        ("contributing_condition_id", "contributing_conditions", "c"),
        ("contributing_behavior_id", "contributing_behaviors", "c"),
        ("assignee_id", "users", "c"),
    ):
        if field in data:
            lookup(
                ctx.state,
                table,
                data[field],
                field=field,
                company_id=cid if scope == "c" else None,
                project_id=pid if scope == "p" else None,
            )
            row[field] = data[field]
    if row.get("status") == "closed" and not row.get("closed_at"):
        row["closed_at"] = ctx.state.store.now_iso()
    custom_fields(data, row.setdefault("custom_fields", {}))


def _item(ctx: Ctx, item_id: int) -> Record:
    row = ctx.state.store["observation_items"].get(item_id)
    if row is None or row["project_id"] != ctx.project_id or row["deleted_at"]:
        raise not_found("Observation Item not found")
    return row


@router.get("/rest/v1.0/observations/items")
async def list_items(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"), tool="observations")
    q = request.query_params
    rows = [r for r in ctx.state.store["observation_items"].by(ctx.project_id) if not r["deleted_at"]]
    rows = filter_ids(
        rows,
        q,
        [(f"filters[{f}]", f) for f in ("id", "type_id", "location_id", "assignee_id", "created_by_id")],
    )
    statuses = id_list(q, "filters[status]")
    if statuses is not None:
        rows = [r for r in rows if STATUSES.index(r["status"]) in statuses]
    priorities = str_list(q, "filters[priority]")
    if priorities is not None:
        rows = [r for r in rows if r.get("priority") in priorities]
    rows = apply_filters(
        rows,
        q,
        {
            "filters[updated_at]": between("updated_at"),
            "filters[search]": lambda r, v: v.lower() in f"{r['name']} {r['description']}".lower(),
        },
    )
    return list_response(request, rows, "obs_item", item_shape(ctx))


@router.post("/rest/v1.0/observations/items")
async def create_item(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True, tool="observations")
    number = 1 + len(ctx.state.store["observation_items"].by(ctx.project_id))
    row = stamped(
        ctx,
        project_id=ctx.project_id,
        status="initiated",
        priority=None,
        description=None,
        due_date=None,
        personal=False,
        number=str(number),
        closed_at=None,
        date_notified=None,
        custom_fields={},
    )
    _apply(ctx, row, body["observation"])
    return insert_and_respond(request, ctx, "observation_items", RESOURCE, row, "obs_item", item_shape(ctx))


@router.get("/rest/v1.0/observations/items/{id}")
async def show_item(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    return one(request, _item(ctx, path_int(request, "id")), "obs_item", item_shape(ctx))


@router.patch("/rest/v1.0/observations/items/{id}")
async def update_item(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, body["project_id"], write=True, tool="observations")
    row = _item(ctx, path_int(request, "id"))
    _apply(ctx, row, body["observation"])
    return save_and_respond(request, ctx, RESOURCE, row, "obs_item", item_shape(ctx))


@router.delete("/rest/v1.0/projects/{project_id}/observations/items/{id}")
async def delete_item(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="observations")
    soft_delete(ctx, RESOURCE, _item(ctx, path_int(request, "id")))
    return Response(status_code=204)
