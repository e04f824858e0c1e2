"""Webhooks API: hooks, triggers, deliveries, resources (A.8). Delivery lives in webhooks.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.auth import Ctx, company_ctx, project_ctx, query_int
from fieldbridge_sandbox.body import validated_body
from fieldbridge_sandbox.errors import api_error, not_found
from fieldbridge_sandbox.routes.common import path_int
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.store import Record

router = APIRouter()
RESOURCES = [
    "Timecard Entries",
    "Timecard Time Types",
    "Incidents",
    "Injuries",  # assumed name (docs/sandbox.md): an injury record's own events
    "Observation Items",
    "Notes Logs",
    "Cost Codes",
    "Line Item Types",
    "Sub Jobs",
    "Locations",
    "Projects",
    "Project Users",
    "Company Users",
    "Crews",
    "Budget Line Items",
]
OUTCOMES = {"any": None, "successful": {"ok", "retried"}, "failing": {"failed"}, "discarded": {"discarded"}}


def _scope(request: Request, company_id: int | None, project_id: int | None) -> Ctx:
    if project_id is not None:
        return project_ctx(request, project_id)
    if company_id is not None:
        return company_ctx(request, company_id)
    raise api_error(400, "You must supply either a company_id or project_id", "missing_parameter")


def _query_scope(request: Request) -> Ctx:
    return _scope(request, query_int(request, "company_id"), query_int(request, "project_id"))


def _owns(ctx: Ctx, hook: Record) -> bool:
    if ctx.project is not None:
        return bool(hook["owned_by_project_id"] == ctx.project_id)
    return bool(hook["owned_by_company_id"] == ctx.company["id"] and hook["owned_by_project_id"] is None)


def _hook(ctx: Ctx, hook_id: int) -> Record:
    hook = ctx.state.store["webhook_hooks"].get(hook_id)
    if hook is None or not _owns(ctx, hook):
        raise not_found("Hook not found")
    return hook


def hook_json(hook: Record) -> dict[str, Any]:
    headers = dict(hook.get("destination_headers") or {})
    if headers.get("Authorization"):
        headers["Authorization"] = "*****" + str(headers["Authorization"])[-5:]
    return {
        "id": hook["id"],
        "api_version": hook["api_version"],
        "namespace": hook["namespace"],
        "destination_url": hook["destination_url"],
        "destination_headers": headers,
        "owned_by_company_id": hook["owned_by_company_id"],
        "owned_by_project_id": hook["owned_by_project_id"],
        "owned_by_user_id": hook["owned_by_user_id"],
    }


def trigger_json(row: Record) -> dict[str, Any]:
    return {
        k: row.get(k)
        for k in (
            "id",
            "webhook_hook_id",
            "resource_name",
            "resource_id",
            "company_id",
            "project_id",
            "user_id",
        )
    } | {"event_type": row["event_type"].upper()}


@router.get("/rest/v1.0/webhooks/hooks")
async def list_hooks(request: Request) -> Response:
    ctx = _query_scope(request)
    q = request.query_params
    rows = [
        h
        for h in ctx.state.store["webhook_hooks"]
        if _owns(ctx, h)
        and q.get("namespace", h["namespace"]) == h["namespace"]
        and q.get("api_version", h["api_version"]) == h["api_version"]
    ]
    return json_response([hook_json(h) for h in rows])


@router.post("/rest/v1.0/webhooks/hooks")
async def create_hook(request: Request) -> Response:
    body = await validated_body(request)
    ctx = _scope(request, body.get("company_id"), body.get("project_id"))
    data = body["hook"]
    row = ctx.state.store.insert(
        "webhook_hooks",
        {
            "api_version": data["api_version"],
            "namespace": data.get("namespace"),
            "destination_url": data["destination_url"],
            "destination_headers": data.get("destination_headers") or {},
            "owned_by_company_id": ctx.company["id"],
            "owned_by_project_id": ctx.project_id if ctx.project else None,
            "owned_by_user_id": ctx.principal.user["id"],
        },
    )
    ctx.state.store.save()
    return json_response(hook_json(row), 201)


@router.patch("/rest/v1.0/webhooks/hooks/{id}")
async def update_hook(request: Request) -> Response:
    body = await validated_body(request)
    ctx = _scope(request, body.get("company_id"), body.get("project_id"))
    hook = _hook(ctx, path_int(request, "id"))
    for field in ("api_version", "namespace", "destination_url", "destination_headers"):
        if field in body["hook"]:
            hook[field] = body["hook"][field]
    ctx.state.store.touch()
    ctx.state.store.save()
    return json_response(hook_json(hook))


@router.delete("/rest/v1.0/webhooks/hooks/{id}")
async def delete_hook(request: Request) -> Response:
    ctx = _query_scope(request)
    hook = _hook(ctx, path_int(request, "id"))
    store = ctx.state.store
    for trigger in list(store["webhook_triggers"].by(hook["id"])):
        store["webhook_triggers"].remove(trigger["id"])
    store["webhook_hooks"].remove(hook["id"])
    store.touch()
    store.save()
    return json_response({})


@router.get("/rest/v1.0/webhooks/hooks/{hook_id}/triggers")
async def list_triggers(request: Request) -> Response:
    ctx = _query_scope(request)
    hook = _hook(ctx, path_int(request, "hook_id"))
    return json_response([trigger_json(t) for t in ctx.state.store["webhook_triggers"].by(hook["id"])])


@router.post("/rest/v1.0/webhooks/hooks/{hook_id}/triggers")
async def create_trigger(request: Request) -> Response:
    body = await validated_body(request)
    ctx = _scope(request, body.get("company_id"), body.get("project_id"))
    hook = _hook(ctx, path_int(request, "hook_id"))
    data = body["trigger"]
    if data["resource_name"] not in RESOURCES:
        raise api_error(422, f"Unknown resource_name {data['resource_name']!r}", "invalid")
    row = ctx.state.store.insert(
        "webhook_triggers",
        {
            "webhook_hook_id": hook["id"],
            "resource_name": data["resource_name"],
            "resource_id": None,
            "event_type": data["event_type"],
            "company_id": ctx.company["id"],
            "project_id": ctx.project_id if ctx.project else None,
            "user_id": ctx.principal.user["id"],
        },
    )
    ctx.state.store.save()
    return json_response(trigger_json(row), 201)


@router.delete("/rest/v1.0/webhooks/hooks/{hook_id}/triggers/{id}")
async def delete_trigger(request: Request) -> Response:
    ctx = _query_scope(request)
    hook = _hook(ctx, path_int(request, "hook_id"))
    trigger = ctx.state.store["webhook_triggers"].get(path_int(request, "id"))
    if trigger is None or trigger["webhook_hook_id"] != hook["id"]:
        raise not_found("Trigger not found")
    ctx.state.store["webhook_triggers"].remove(trigger["id"])
    ctx.state.store.touch()
    ctx.state.store.save()
    return json_response({})


@router.get("/rest/v1.0/webhooks/hooks/{hook_id}/deliveries")
async def list_deliveries(request: Request) -> Response:
    """Cursor paging: `page_size` (default 100) and `page_start` = last id of previous page."""
    ctx = _query_scope(request)
    hook = _hook(ctx, path_int(request, "hook_id"))
    q = request.query_params
    status = q.get("filters[status]", "any")
    if status not in OUTCOMES:
        raise api_error(400, "filters[status] must be any, successful, failing or discarded", "bad_parameter")
    wanted = OUTCOMES[status]
    size = query_int(request, "page_size") or 100
    start = query_int(request, "page_start") or 0
    rows = [
        d
        for d in ctx.state.store["webhook_deliveries"].by(hook["id"])
        if d["id"] > start and (wanted is None or d["outcome"] in wanted)
    ][:size]
    return json_response(
        [{k: v for k, v in d.items() if k != "webhook_hook_id"} | {"id": d["id"]} for d in rows]
    )


@router.get("/rest/v1.0/webhooks/resources")
async def list_resources(request: Request) -> Response:
    _query_scope(request)
    return json_response(
        [
            {
                "api_version": "v2.0",
                "product_category": "Sandbox",
                "tools": name,
                "except": [],
                "create": f"{name} Create",
                "update": f"{name} Update",
                "delete": f"{name} Delete",
            }
            for name in RESOURCES
        ]
    )
