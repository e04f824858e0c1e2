"""Incidents with injuries, and the company pick-lists they reference (A.5)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import not_found
from fieldbridge_sandbox.pagination import apply_filters, filter_ids, flag, sort_rows, str_list
from fieldbridge_sandbox.pagination import updated_between as between
from fieldbridge_sandbox.routes.common import (
    copy_fields,
    insert_and_respond,
    list_response,
    login_ref,
    lookup,
    one,
    path_int,
    save_and_respond,
    scoped,
    soft_delete,
    stamped,
)
from fieldbridge_sandbox.routes.injury_shape import (
    FILING_TYPES,
    INJURY_FIELDS,
    RESOURCE,
    body_part_json,
    injury_changed,
    injury_shape,
    pick_json,
)
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()
PICK_LISTS = ("hazards", "contributing_conditions", "contributing_behaviors")
# Injury pick-lists: /companies/{id}/incidents/<name>
INJURY_PICK_LISTS = ("affliction_types", "harm_sources", "work_activities")
INCIDENT_ID_FILTERS = (
    "id",
    "location_id",
    "hazard_id",
    "contributing_behavior_id",
    "contributing_condition_id",
)
INJURY_ID_FILTERS = (
    "affected_company_id",
    "affected_party_id",
    "affected_person_id",
    "harm_source_id",
    "affliction_type_id",
)
INCIDENT_FIELDS = ("title", "description", "event_date", "time_unknown", "status", "recordable", "private")


def custom_fields(data: dict[str, Any], into: dict[str, Any]) -> None:
    """Flat `custom_field_<id>: value` on requests -> `{data_type, value}` on responses."""
    for key, value in data.items():
        if key.startswith("custom_field_") and key[13:].isdigit():
            kind = (
                "boolean"
                if isinstance(value, bool)
                else "decimal"
                if isinstance(value, int | float)
                else "string"
            )
            into[key] = {"data_type": kind, "value": value}


def pick(row: Record | None) -> dict[str, Any] | None:
    return None if row is None else pick_json(row)


def incident_shape(ctx: Ctx) -> Any:
    store = ctx.state.store
    injury = injury_shape(store)

    def serialize(row: Record) -> dict[str, Any]:
        out = {
            k: row.get(k)
            for k in ("id", "number", *INCIDENT_FIELDS, "created_at", "updated_at", "deleted_at")
        }
        injuries = [
            injury(i)
            for i in store["injuries"].by(row["project_id"])
            if i["incident_id"] == row["id"] and not i["deleted_at"]
        ]
        location = store["locations"].get(row.get("location_id") or 0)
        out.update(
            {
                "records_count": len(injuries),
                "open_observations_count": 0,
                "closed_observations_count": 0,
                "actions_count": 0,
                "witness_statements_count": 0,
                "attachments_count": 0,
                "created_by": login_ref(store["users"].get(row["created_by_id"])),
                "hazard": pick(store["hazards"].get(row.get("hazard_id") or 0)),
                "contributing_condition": pick(
                    store["contributing_conditions"].get(row.get("contributing_condition_id") or 0)
                ),
                "contributing_behavior": pick(
                    store["contributing_behaviors"].get(row.get("contributing_behavior_id") or 0)
                ),
                "location": None
                if location is None
                else {
                    k: location.get(k)
                    for k in ("id", "name", "node_name", "parent_id", "created_at", "updated_at")
                },
                "custom_fields": row.get("custom_fields", {}),
                "attachments": [],
                "distribution_members": [],
                "injuries": injuries,
                "near_misses": [],
                "property_damages": [],
                "environmentals": [],
                "witness_statements": [],
                "actions": [],
            }
        )
        return out

    return serialize


def _incident(ctx: Ctx, incident_id: int) -> Record:
    row = ctx.state.store["incidents"].get(incident_id)
    if row is None or row["project_id"] != ctx.project_id or row["deleted_at"]:
        raise not_found("Incident not found")
    return row


def _apply(ctx: Ctx, row: Record, data: dict[str, Any]) -> None:
    for field in INCIDENT_FIELDS:
        if field in data:
            row[field] = data[field]
    for field, table, scope in (
        ("hazard_id", "hazards", "company"),
        ("contributing_condition_id", "contributing_conditions", "company"),
        ("contributing_behavior_id", "contributing_behaviors", "company"),
        ("location_id", "locations", "project"),
    ):
        if field in data:
            lookup(
                ctx.state,
                table,
                data[field],
                field=field,
                company_id=ctx.company["id"] if scope == "company" else None,
                project_id=ctx.project_id if scope == "project" else None,
            )
            row[field] = data[field]
    custom_fields(data, row.setdefault("custom_fields", {}))


def _add_injury(ctx: Ctx, incident: Record, data: dict[str, Any]) -> Record:
    store = ctx.state.store
    siblings = [i for i in store["injuries"].by(ctx.project_id) if i["incident_id"] == incident["id"]]
    now = store.now_iso()
    row: Record = {
        "project_id": ctx.project_id,
        "incident_id": incident["id"],
        "incident_number": incident["number"],
        "number": len(siblings) + 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
        **{k: data.get(k) for k in INJURY_FIELDS},
    }
    if data.get("filing_type") == "recordable":
        row["filing_type"], row["recordable"] = None, True
    custom_fields(data, row.setdefault("custom_fields", {}))
    return store.insert("injuries", row)


@router.get("/rest/v1.0/projects/{project_id}/incidents")
async def list_incidents(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="incidents")
    q = request.query_params
    rows = [r for r in ctx.state.store["incidents"].by(ctx.project_id) if not r["deleted_at"]]
    rows = filter_ids(rows, q, [(f"filters[{f}]", f) for f in INCIDENT_ID_FILTERS])
    statuses = str_list(q, "filters[status]")
    if statuses is not None:
        rows = [r for r in rows if r["status"] in statuses]
    for name in ("filters[recordable]", "filters[time_unknown]"):
        wanted = flag(q, name)
        if wanted is not None:
            rows = [r for r in rows if bool(r[name[8:-1]]) == wanted]
    rows = apply_filters(
        rows,
        q,
        {
            "filters[updated_at]": between("updated_at"),
            "filters[created_at]": between("created_at"),
            "filters[event_date]": between("event_date"),
            "filters[query]": lambda r, v: v.lower() in f"{r['title']} {r['description']}".lower(),
        },
    )
    rows = sort_rows(rows, q.get("sort"), {"created_at", "event_date", "number", "recordable", "title"})
    return list_response(request, rows, "incident", incident_shape(ctx), default=1000, maximum=1000)


@router.post("/rest/v1.0/projects/{project_id}/incidents")
async def create_incident(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    data = body["incident"]
    store = ctx.state.store
    row = stamped(
        ctx,
        id=store.new_id(),
        project_id=ctx.project_id,
        number=1 + len(store["incidents"].by(ctx.project_id)),
        title=None,
        description=None,
        event_date=store.now_iso(),
        time_unknown=False,
        status="open",
        recordable=False,
        private=False,
        custom_fields={},
    )
    _apply(ctx, row, data)
    for injury in data.get("injuries") or []:
        _add_injury(ctx, row, injury)
    return insert_and_respond(request, ctx, "incidents", RESOURCE, row, "incident", incident_shape(ctx))


@router.get("/rest/v1.0/projects/{project_id}/incidents/injuries")
async def list_injuries(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="incidents")
    q = request.query_params
    rows = [r for r in ctx.state.store["injuries"].by(ctx.project_id) if not r["deleted_at"]]
    incident_id = query_int(request, "incident_id")
    if incident_id is not None:
        rows = [r for r in rows if r["incident_id"] == incident_id]
    rows = filter_ids(rows, q, [(f"filters[{f}]", f) for f in INJURY_ID_FILTERS])
    filing = str_list(q, "filters[filing_type]")
    if filing is not None:
        rows = [r for r in rows if r["filing_type"] in filing]
    recordable = flag(q, "filters[recordable]")
    if recordable is not None:
        rows = [r for r in rows if bool(r["recordable"]) == recordable]
    rows = apply_filters(rows, q, {"filters[created_at]": between("created_at")})
    return list_response(request, rows, "injury", injury_shape(ctx.state.store))


def _injury(request: Request, ctx: Ctx) -> Record:
    row = scoped(ctx, "injuries", path_int(request, "id"), "Injury")
    incident_id = query_int(request, "incident_id")
    if row["deleted_at"] or (incident_id is not None and row["incident_id"] != incident_id):
        raise not_found("Injury not found")
    return row


def _injury_changed(ctx: Ctx, injury: Record, event_type: str) -> None:
    """An injury change fires an `Injuries` event for the injury (assumed resource name, see
    docs/sandbox.md) and an `Incidents` update for its incident, whose `updated_at` moves too."""
    injury_changed(
        ctx.state, injury, event_type, user_id=ctx.principal.user["id"], app_id=ctx.principal.app["id"]
    )


@router.get("/rest/v1.0/projects/{project_id}/incidents/injuries/{id}")
async def show_injury(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="incidents")
    return one(request, _injury(request, ctx), "injury", injury_shape(ctx.state.store))


@router.patch("/rest/v1.0/projects/{project_id}/incidents/injuries/{id}")
async def update_injury(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    row = _injury(request, ctx)
    data = body["injury"]
    copy_fields(row, data, INJURY_FIELDS)
    if data.get("filing_type") == "recordable":
        row["filing_type"], row["recordable"] = None, True
    custom_fields(data, row.setdefault("custom_fields", {}))
    row["updated_at"] = ctx.state.store.now_iso()
    _injury_changed(ctx, row, "update")
    return one(request, row, "injury", injury_shape(ctx.state.store))


@router.delete("/rest/v1.0/projects/{project_id}/incidents/injuries/{id}")
async def delete_injury(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    row = _injury(request, ctx)
    row["deleted_at"] = row["updated_at"] = ctx.state.store.now_iso()
    _injury_changed(ctx, row, "delete")
    return Response(status_code=204)


@router.post("/rest/v1.0/projects/{project_id}/incidents/injuries")
async def create_injury(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    data = body["injury"]
    incident = lookup(
        ctx.state, "incidents", data["incident_id"], project_id=ctx.project_id, field="incident_id"
    )
    assert incident is not None
    row = _add_injury(ctx, incident, data)
    _injury_changed(ctx, row, "create")
    return one(request, row, "injury", injury_shape(ctx.state.store), 201)


@router.get("/rest/v1.0/projects/{project_id}/incidents/{id}")
async def show_incident(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), tool="incidents")
    return one(request, _incident(ctx, path_int(request, "id")), "incident", incident_shape(ctx))


@router.patch("/rest/v1.0/projects/{project_id}/incidents/{id}")
async def update_incident(request: Request) -> Response:
    body = await validated_body(request)
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    row = _incident(ctx, path_int(request, "id"))
    _apply(ctx, row, body["incident"])
    for injury in body["incident"].get("injuries") or []:
        _add_injury(ctx, row, injury)
    return save_and_respond(request, ctx, RESOURCE, row, "incident", incident_shape(ctx))


@router.delete("/rest/v1.0/projects/{project_id}/incidents/{id}")
async def delete_incident(request: Request) -> Response:
    ctx = project_ctx(request, path_int(request, "project_id"), write=True, tool="incidents")
    soft_delete(ctx, RESOURCE, _incident(ctx, path_int(request, "id")))
    return Response(status_code=204)


@router.get("/rest/v1.0/companies/{company_id}/incidents/statuses")
async def incident_statuses(request: Request) -> Response:
    company_ctx(request, path_int(request, "company_id"))
    return json_response([{"label": "Open", "value": "open"}, {"label": "Closed", "value": "closed"}])


def _pick_list_route(table: str, under: str = "") -> None:
    """`GET /rest/v1.0/companies/{id}/<under><table>`: the company's active rows (`all=true`: all)."""

    async def list_pick(request: Request) -> Response:
        ctx = company_ctx(request, path_int(request, "company_id"))
        rows = ctx.state.store[table].by(ctx.company["id"])
        if not flag(request.query_params, "all"):
            rows = [r for r in rows if r["active"]]
        rows = apply_filters(rows, request.query_params, {"filters[updated_at]": between("updated_at")})
        return list_response(request, rows, table, pick_json)

    router.add_api_route(
        f"/rest/v1.0/companies/{{company_id}}/{under}{table}",
        list_pick,
        methods=["GET"],
        name=f"list_{table}",
    )


for _table in PICK_LISTS:
    _pick_list_route(_table)
for _table in INJURY_PICK_LISTS:
    _pick_list_route(_table, "incidents/")


@router.get("/rest/v1.0/companies/{company_id}/incidents/body_parts")
async def body_parts(request: Request) -> Response:
    ctx = company_ctx(request, path_int(request, "company_id"))
    return list_response(
        request, ctx.state.store["body_parts"].by(ctx.company["id"]), "body_part", body_part_json
    )


@router.get("/rest/v1.0/companies/{company_id}/incidents/injury_filing_types")
async def injury_filing_types(request: Request) -> Response:
    company_ctx(request, path_int(request, "company_id"))
    return json_response([{"label": v.replace("_", " ").capitalize(), "value": v} for v in FILING_TYPES])
