"""Notes logs (the daily safety summary) and project locations (A.7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, project_ctx
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import not_found
from fieldbridge_sandbox.pagination import apply_filters, id_list
from fieldbridge_sandbox.pagination import updated_between as between
from fieldbridge_sandbox.routes.common import (
    changed,
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
from fieldbridge_sandbox.routes.safety import custom_fields
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()
RESOURCE = "Notes Logs"
LOCATION_FIELDS = ("id", "name", "node_name", "parent_id", "code", "created_at", "updated_at")


def location_json(row: Record) -> dict[str, Any]:
    return {k: row.get(k) for k in LOCATION_FIELDS}


def find_or_create_path(ctx: Ctx, path: list[str]) -> Record:
    """`["Building 1", "Apartment 404"]` -> location "Building 1>Apartment 404" (mt_location)."""
    store = ctx.state.store
    parent: Record | None = None
    for depth in range(1, len(path) + 1):
        name = ">".join(path[:depth])
        found = next((r for r in store["locations"].by(ctx.project_id) if r["name"] == name), None)
        if found is None:
            now = store.now_iso()
            found = store.insert(
                "locations",
                {
                    "project_id": ctx.project_id,
                    "name": name,
                    "node_name": path[depth - 1],
                    "parent_id": parent["id"] if parent else None,
                    "code": None,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        parent = found
    assert parent is not None
    return parent


@router.get("/rest/v1.0/projects/{project_id}/locations")
async def list_locations(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    rows = ctx.state.store["locations"].by(ctx.project_id)
    ids = id_list(request.query_params, "filters[id]")
    if ids is not None:
        rows = [r for r in rows if r["id"] in ids]
    rows = apply_filters(
        rows,
        request.query_params,
        {
            "filters[updated_at]": between("updated_at"),
            "filters[parent_id]": lambda r, v: str(r["parent_id"]) == v,
            "filters[search]": lambda r, v: v.lower() in r["name"].lower(),
        },
    )
    return list_response(request, rows, "location", location_json)


@router.post("/rest/v1.0/projects/{project_id}/locations")
async def create_location(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True)
    data = body["location"]
    parent = lookup(
        ctx.state, "locations", data.get("parent_id"), project_id=ctx.project_id, field="parent_id"
    )
    node = data.get("node_name") or "Location"
    path = [*(parent["name"].split(">") if parent else []), node]
    row = find_or_create_path(ctx, path)
    changed(ctx, "Locations", "create", row)
    return one(request, row, "location", location_json, 201)


def notes_shape(ctx: Ctx) -> Any:
    store = ctx.state.store

    def serialize(row: Record) -> dict[str, Any]:
        out = {
            k: row.get(k)
            for k in (
                "id",
                "comment",
                "date",
                "datetime",
                "is_issue_day",
                "status",
                "position",
                "daily_log_header_id",
                "daily_log_segment_id",
                "created_at",
                "updated_at",
                "deleted_at",
            )
        }
        location = store["locations"].get(row.get("location_id") or 0)
        out.update(
            {
                "created_by": login_ref(store["users"].get(row["created_by_id"])),
                "created_by_collaborator": False,
                "location": None if location is None else location_json(location),
                "vendor": None,
                "attachments": [],
                "daily_log_segment": None,
                "permissions": {"can_update": True, "can_delete": True},
                "custom_fields": row.get("custom_fields", {}),
            }
        )
        return out

    return serialize


def _apply(ctx: Ctx, row: Record, data: dict[str, Any]) -> None:
    for field in ("comment", "is_issue_day", "vendor_id", "daily_log_header_id"):
        if field in data:
            row[field] = data[field]
    if data.get("datetime"):
        row["datetime"], row["date"] = data["datetime"], str(data["datetime"])[:10]
    elif data.get("date"):
        row["date"], row["datetime"] = data["date"], f"{data['date']}T12:00:00Z"
    if data.get("location_id") is not None:
        lookup(ctx.state, "locations", data["location_id"], project_id=ctx.project_id, field="location_id")
        row["location_id"] = data["location_id"]
    elif data.get("mt_location"):
        row["location_id"] = find_or_create_path(ctx, list(data["mt_location"]))["id"]
    custom_fields(data, row.setdefault("custom_fields", {}))


def _note(ctx: Ctx, note_id: int) -> Record:
    row = ctx.state.store["notes_logs"].get(note_id)
    if row is None or row["project_id"] != ctx.project_id or row["deleted_at"]:
        raise not_found("Notes Log not found")
    return row


@router.get("/rest/v1.0/projects/{project_id}/notes_logs")
async def list_notes(request: Request) -> Response:
    """Today's approved logs unless log_date / start_date+end_date / filters[status] say else."""
    ctx = project_ctx(request, path_int(request, "project_id"), tool="daily_log")
    q = request.query_params
    if q.get("log_date"):
        lo = hi = q["log_date"]
    elif q.get("start_date") or q.get("end_date"):
        lo, hi = q.get("start_date") or "0000-01-01", q.get("end_date") or "9999-12-31"
    else:
        lo = hi = ctx.state.store.today()
    status = q.get("filters[status]", "approved")
    rows = [
        r
        for r in ctx.state.store["notes_logs"].by(ctx.project_id)
        if not r["deleted_at"] and lo <= r["date"] <= hi and (status == "all" or r["status"] == status)
    ]
    rows = apply_filters(
        rows,
        q,
        {
            "filters[created_by_id]": lambda r, v: str(r["created_by_id"]) == v,
            "filters[location_id]": lambda r, v: str(r.get("location_id")) == v,
        },
    )
    return list_response(request, rows, "notes_log", notes_shape(ctx))


@router.post("/rest/v1.0/projects/{project_id}/notes_logs")
async def create_note(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="daily_log")
    store = ctx.state.store
    today = store.today()
    row = stamped(
        ctx,
        project_id=ctx.project_id,
        comment=None,
        date=today,
        datetime=f"{today}T12:00:00Z",
        is_issue_day=False,
        status=ctx.state.config.notes_log_status,
        position=1 + len(store["notes_logs"].by(ctx.project_id)),
        daily_log_header_id=None,
        daily_log_segment_id=None,
        location_id=None,
        custom_fields={},
    )
    _apply(ctx, row, body["notes_log"])
    return insert_and_respond(request, ctx, "notes_logs", RESOURCE, row, "notes_log", notes_shape(ctx))


@router.get("/rest/v1.0/projects/{project_id}/notes_logs/{id}")
async def show_note(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="daily_log")
    return one(request, _note(ctx, path_int(request, "id")), "notes_log", notes_shape(ctx))


@router.patch("/rest/v1.0/projects/{project_id}/notes_logs/{id}")
async def update_note(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="daily_log")
    row = _note(ctx, path_int(request, "id"))
    _apply(ctx, row, body["notes_log"])
    return save_and_respond(request, ctx, RESOURCE, row, "notes_log", notes_shape(ctx))


@router.delete("/rest/v1.0/projects/{project_id}/notes_logs/{id}")
async def delete_note(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="daily_log")
    soft_delete(ctx, RESOURCE, _note(ctx, path_int(request, "id")))
    return json_response({})
