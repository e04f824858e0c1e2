"""Timecard time types, project timesheets (approval locks entries) and crews (A.4)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error, field_errors
from fieldbridge_sandbox.pagination import apply_filters, updated_between
from fieldbridge_sandbox.routes.common import (
    changed,
    copy_fields,
    hard_delete,
    list_response,
    login_ref,
    one,
    path_int,
    plain_list_response,
    save_and_respond,
    scoped,
)
from fieldbridge_sandbox.routes.timecard_rules import EntryShapes
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()
TIMESHEET_STATUSES = ("pending", "approved")


# Beside the documented fields, Procore returns `name`, `available`, `default` and `pay_rate`;
# clients (propycore's `find_time_type`) look types up by `name`.
TIME_TYPE_EXTRAS = ("name", "available", "default", "pay_rate")


def _time_type(keys: tuple[str, ...]) -> Any:
    return lambda r: {k: r.get(k) for k in (*keys, *TIME_TYPE_EXTRAS)}


@router.get("/rest/v1.0/timecard_time_types")
async def project_time_types(request: Request) -> Response:
    ctx = project_ctx(request, query_int(request, "project_id"))
    return list_response(
        request,
        ctx.state.store["timecard_time_types"].by(ctx.company["id"]),
        "time_type",
        _time_type(("id", "time_type", "abbreviated_time_type", "global")),
    )


@router.get("/rest/v1.0/companies/{company_id}/timecard_time_types")
async def company_time_types(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    rows = ctx.state.store["timecard_time_types"].by(ctx.company["id"])
    return json_response([_time_type(("id", "time_type"))(r) for r in rows])


def timesheet_shape(ctx: Ctx) -> Any:
    return EntryShapes(ctx).timesheet


@router.get("/rest/v1.0/projects/{project_id}/timesheets")
async def list_timesheets(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="timecards")
    rows = apply_filters(
        ctx.state.store["timesheets"].by(ctx.project_id),
        request.query_params,
        {"filters[updated_at]": updated_between("updated_at"), "filters[date]": updated_between("date")},
    )
    return list_response(request, rows, "timesheet", timesheet_shape(ctx))


@router.post("/rest/v1.0/projects/{project_id}/timesheets")
async def create_timesheet(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    day = body["timesheet"]["date"]
    store = ctx.state.store
    number = 1 + sum(1 for t in store["timesheets"].by(ctx.project_id) if t["date"] == day)
    now = store.now_iso()
    row = store.insert(
        "timesheets",
        {
            "project_id": ctx.project_id,
            "date": day,
            "number": number,
            "name": f"{day} - {number:02d}",
            "status": "pending",
            "created_by_id": ctx.principal.user["id"],
            "created_at": now,
            "updated_at": now,
        },
    )
    return one(request, row, "timesheet", timesheet_shape(ctx), 201)


@router.patch("/rest/v1.0/projects/{project_id}/timesheets/update_approval")
async def update_approval(request: Request) -> Response:
    """Approving a timesheet approves and locks its entries (each fires an update event)."""
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="timecards")
    store = ctx.state.store
    wanted = body["timesheets"]
    if any(t["status"] not in TIMESHEET_STATUSES for t in wanted):
        raise api_error(
            400, "An improper status was submitted - valid statues are pending, approved", "bad_status"
        )
    sheets = [store["timesheets"].get(t["id"]) for t in wanted]
    if any(s is None or s["project_id"] != ctx.project_id for s in sheets):
        raise api_error(404, "There was a Timesheet that could not be found", "not_found")
    now = store.now_iso()
    out: list[Record] = []
    for sheet, change in zip(sheets, wanted, strict=True):
        assert sheet is not None
        sheet["status"], sheet["updated_at"] = change["status"], now
        for entry in store["timecard_entries"].by(ctx.project_id):
            if entry["timesheet_id"] == sheet["id"] and not entry["deleted_at"]:
                entry["approval_status"] = change["status"]
                entry["updated_at"] = now
                changed(ctx, "Timecard Entries", "update", entry)
        out.append(sheet)
    store.touch()
    shape = timesheet_shape(ctx)
    return json_response([shape(s) for s in out])


def crew_shape(ctx: Ctx) -> Any:
    people = ctx.state.store["people"]

    def member(pid: int) -> dict[str, Any] | None:
        p = people.get(pid)
        if p is None:
            return None
        return {
            "id": p["id"],
            "first_name": p["first_name"],
            "last_name": p["last_name"],
            "is_employee": p["is_employee"],
            "employee_id": p["employee_id"],
            "user_id": p["user_id"],
            "is_active": True,
        }

    def serialize(row: Record) -> dict[str, Any]:
        lead = member(row["lead_party_id"]) if row["lead_party_id"] else None
        users = ctx.state.store["users"]
        return {
            "id": row["id"],
            "name": row["name"],
            "project_id": row["project_id"],
            "company_id": row["company_id"],
            "employees": [],
            "created_by": login_ref(users.get(row["created_by_id"])),
            "lead": None,
            "lead_party": lead,
            "members": [m for m in (member(i) for i in row["party_ids"]) if m],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    return serialize


def _crews(request: Request) -> tuple[Ctx, list[Record]]:
    ctx = project_ctx(request, path_int(request, "project_id"))
    rows = apply_filters(
        ctx.state.store["crews"].by(ctx.project_id),
        request.query_params,
        {"filters[updated_at]": updated_between("updated_at")},
    )
    return ctx, rows


@router.get("/rest/v1.0/projects/{project_id}/crews")
async def list_crews(request: Request) -> Response:
    ctx, rows = _crews(request)
    return list_response(request, rows, "crew", crew_shape(ctx))


@router.get("/rest/v1.0/projects/{project_id}/crews/ids")
async def list_crew_ids(request: Request) -> Response:
    """`[id, …]` of the project's crews (same filters and paging as the list)."""
    _, rows = _crews(request)
    return plain_list_response(request, [r["id"] for r in rows])


def _crew(ctx: Ctx, crew_id: int) -> Record:
    return scoped(ctx, "crews", crew_id, "Crew")


def _check_crew(ctx: Ctx, data: dict[str, Any], *, creating: bool) -> None:
    """422 "Error creating a Crew" (the message both create and update document)."""
    people = ctx.state.store["people"]
    ids = [data.get("lead_party_id"), *(data.get("party_ids") or [])]
    bad = [i for i in ids if i is not None and (people.get(i) or {}).get("company_id") != ctx.company["id"]]
    blank = (creating or "name" in data) and not data.get("name")
    if bad or blank:
        raise field_errors(422, {"base": ["Error creating a Crew"]})


@router.get("/rest/v1.0/projects/{project_id}/crews/{id}")
async def show_crew(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"))
    return one(request, _crew(ctx, path_int(request, "id")), "crew", crew_shape(ctx))


@router.post("/rest/v1.0/projects/{project_id}/crews")
async def create_crew(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True)
    data = body["crew"]
    _check_crew(ctx, data, creating=True)
    now = ctx.state.store.now_iso()
    row = ctx.state.store.insert(
        "crews",
        {
            "project_id": ctx.project_id,
            "company_id": ctx.company["id"],
            "name": data["name"],
            "lead_party_id": data.get("lead_party_id"),
            "party_ids": data.get("party_ids") or [],
            "created_by_id": ctx.principal.user["id"],
            "created_at": now,
            "updated_at": now,
        },
    )
    changed(ctx, "Crews", "create", row)
    return one(request, row, "crew", crew_shape(ctx), 201)


@router.patch("/rest/v1.0/projects/{project_id}/crews/{id}")
async def update_crew(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True)
    row = _crew(ctx, path_int(request, "id"))
    data = body["crew"]
    _check_crew(ctx, data, creating=False)
    copy_fields(row, data, ("name", "lead_party_id", "party_ids"))
    row["party_ids"] = row["party_ids"] or []
    return save_and_respond(request, ctx, "Crews", row, "crew", crew_shape(ctx))


@router.delete("/rest/v1.0/projects/{project_id}/crews/{id}")
async def delete_crew(request: Request) -> Response:
    """200 "Crew Deleted"; the crew is gone (entries that named it keep `crew_id`)."""
    ctx = project_ctx(request, path_int(request, "project_id"), write=True)
    return hard_delete(ctx, "crews", "Crews", _crew(ctx, path_int(request, "id")))
