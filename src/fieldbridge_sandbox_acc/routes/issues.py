"""Issues API: issues (list, create, get, PATCH) and their comments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import acc_project, is_project_admin, principal, sandbox, user_of
from fieldbridge_sandbox_acc.errors import bad_input, not_found
from fieldbridge_sandbox_acc.issue_rules import (
    check_custom_attributes,
    check_patch,
    check_payload,
    permitted_attributes,
    statuses_of,
)
from fieldbridge_sandbox_acc.routes.common import csv_param, date_filter, json_object, page, public
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import Record

router = APIRouter(prefix="/construction/issues/v1/projects/{projectId}")
SORTABLE = ("createdAt", "updatedAt", "displayId", "title", "status", "dueDate", "closedAt", "startDate")


def issue_view(state: AccState, project: Record, user: Record) -> Any:
    admin = is_project_admin(project, user)

    def view(issue: Record) -> dict[str, Any]:
        out = public(issue)
        issue_type = state.store.get("issue_types", issue["issueTypeId"])
        out["permittedStatuses"] = statuses_of(issue_type) if issue_type else []
        out["permittedAttributes"] = permitted_attributes(issue, user, admin)
        return out

    return view


def _ctx(request: Request) -> tuple[AccState, Record, Record]:
    p = principal(request)
    project = acc_project(request, p, request.path_params["projectId"])
    return sandbox(request), project, user_of(p)


def _issue(state: AccState, project: Record, issue_id: str) -> Record:
    issue = state.store.get("issues", issue_id)
    if issue is None or issue["containerId"] != project["id"] or issue.get("deleted"):
        raise not_found(f"Issue {issue_id} not found")
    return issue


def _filtered(request: Request, rows: list[Record]) -> list[Record]:
    deleted = request.query_params.get("filter[deleted]", "false").lower() == "true"
    rows = [r for r in rows if bool(r.get("deleted")) == deleted]
    for param, key in (
        ("filter[id]", "id"),
        ("filter[issueTypeId]", "issueTypeId"),
        ("filter[issueSubtypeId]", "issueSubtypeId"),
        ("filter[status]", "status"),
        ("filter[assignedTo]", "assignedTo"),
        ("filter[assignedToType]", "assignedToType"),
        ("filter[createdBy]", "createdBy"),
        ("filter[updatedBy]", "updatedBy"),
        ("filter[closedBy]", "closedBy"),
        ("filter[locationId]", "locationId"),
        ("filter[rootCauseId]", "rootCauseId"),
    ):
        wanted = csv_param(request, param)
        if wanted is not None:
            rows = [r for r in rows if str(r.get(key)) in wanted]
    display = csv_param(request, "filter[displayId]")
    if display is not None:
        rows = [r for r in rows if str(r["displayId"]) in display]
    for param, key in (
        ("filter[updatedAt]", "updatedAt"),
        ("filter[createdAt]", "createdAt"),
        ("filter[closedAt]", "closedAt"),
        ("filter[dueDate]", "dueDate"),
        ("filter[startDate]", "startDate"),
    ):
        match = date_filter(request, param)
        if match is not None:
            rows = [r for r in rows if match(r.get(key))]
    search = request.query_params.get("filter[search]")
    if search:
        needle = search.lower()
        rows = [r for r in rows if needle in r["title"].lower() or needle == str(r["displayId"])]
    sort = request.query_params.getlist("sortBy")
    for key in reversed([s for raw in sort for s in raw.split(",") if s]):
        name = key.lstrip("-")
        if name in SORTABLE:
            rows.sort(key=lambda r: (r.get(name) is None, r.get(name) or ""), reverse=key.startswith("-"))
    return rows


@router.get("/issues")
async def list_issues(request: Request) -> Response:
    state, project, user = _ctx(request)
    rows = sorted(state.store.where("issues", containerId=project["id"]), key=lambda r: r["displayId"])
    rows = _filtered(request, rows)
    return json_response(
        page(request, rows, issue_view(state, project, user), default_limit=100, max_limit=100)
    )


@router.post("/issues")
async def create_issue(request: Request) -> Response:
    state, project, user = _ctx(request)
    body = await json_object(request)
    issue_type, sub = check_payload(state.store, project["id"], body)
    store = state.store
    now = store.now_iso()
    custom = check_custom_attributes(
        store, project["id"], issue_type["id"], sub["id"], body.get("customAttributes") or []
    )
    issue: Record = {
        "id": store.new_uuid(),
        "containerId": project["id"],
        "deleted": False,
        "displayId": store.next_display_id(project["id"]),
        "title": body["title"],
        "description": body.get("description"),
        "issueTypeId": issue_type["id"],
        "issueSubtypeId": sub["id"],
        "status": body["status"],
        "assignedTo": body.get("assignedTo"),
        "assignedToType": body.get("assignedToType"),
        "dueDate": body.get("dueDate"),
        "startDate": body.get("startDate"),
        "locationId": body.get("locationId"),
        "locationDetails": body.get("locationDetails"),
        "rootCauseId": body.get("rootCauseId"),
        "published": bool(body.get("published", False)),
        "watchers": list(body.get("watchers") or []),
        "customAttributes": custom,
        "gpsCoordinates": body.get("gpsCoordinates"),
        "linkedDocuments": [],
        "links": [],
        "commentCount": 0,
        "attachmentCount": 0,
        "openedBy": user["id"] if body["status"] != "draft" else None,
        "openedAt": now if body["status"] != "draft" else None,
        "closedBy": user["id"] if body["status"] == "closed" else None,
        "closedAt": now if body["status"] == "closed" else None,
        "createdBy": user["id"],
        "createdAt": now,
        "updatedBy": user["id"],
        "updatedAt": now,
    }
    store.insert("issues", issue)
    store.save()
    if state.webhooks is not None:
        state.webhooks.issue_event("issue.created-1.0", issue, user["id"], [])
    return json_response(issue_view(state, project, user)(issue))


@router.get("/issues/{issueId}")
async def get_issue(request: Request) -> Response:
    state, project, user = _ctx(request)
    issue = _issue(state, project, request.path_params["issueId"])
    return json_response(issue_view(state, project, user)(issue))


def apply_update(
    state: AccState, project: Record, issue: Record, body: dict[str, Any], user: Record, permitted: list[str]
) -> list[dict[str, Any]]:
    """Check and apply a change of an issue as `user`; fire issue.updated. Returns ACC's
    `changedAttributes` ([{attributeName, oldValue, newValue}])."""
    changed = check_patch(issue, body, permitted)
    merged = {**issue, **{k: body[k] for k in changed}}
    issue_type, sub = check_payload(state.store, project["id"], merged)
    if "customAttributes" in changed:
        values = {c["attributeDefinitionId"]: c for c in issue.get("customAttributes", [])}
        for item in check_custom_attributes(
            state.store, project["id"], issue_type["id"], sub["id"], body["customAttributes"]
        ):
            values[item["attributeDefinitionId"]] = item
        merged["customAttributes"] = list(values.values())
    if not changed:
        return []
    now = state.store.now_iso()
    diff = [{"attributeName": k, "oldValue": issue.get(k), "newValue": merged.get(k)} for k in changed]
    if "status" in changed:
        if merged["status"] == "closed":
            merged["closedBy"], merged["closedAt"] = user["id"], now
        elif issue["status"] == "closed":
            merged["closedBy"] = merged["closedAt"] = None
        if issue["status"] == "draft" and merged["status"] != "draft":
            merged["openedBy"], merged["openedAt"] = user["id"], now
    merged["issueTypeId"] = issue_type["id"]
    merged["updatedBy"], merged["updatedAt"] = user["id"], now
    issue.update(merged)
    state.store.touch()
    state.store.save()
    if state.webhooks is not None:
        state.webhooks.issue_event("issue.updated-1.0", issue, user["id"], diff)
    return diff


def set_deleted(state: AccState, issue: Record, user: Record, deleted: bool) -> None:
    """Delete or restore an issue (ACC's UI only; the API has no delete): issue.deleted-1.0 or
    issue.restored-1.0."""
    now = state.store.now_iso()
    issue["deleted"] = deleted
    issue["deletedAt"], issue["deletedBy"] = (now, user["id"]) if deleted else (None, None)
    issue["updatedBy"], issue["updatedAt"] = user["id"], now
    state.store.touch()
    state.store.save()
    if state.webhooks is not None:
        event = "issue.deleted-1.0" if deleted else "issue.restored-1.0"
        state.webhooks.issue_event(event, issue, user["id"], [])


@router.patch("/issues/{issueId}")
async def patch_issue(request: Request) -> Response:
    state, project, user = _ctx(request)
    issue = _issue(state, project, request.path_params["issueId"])
    body = await json_object(request)
    permitted = permitted_attributes(issue, user, is_project_admin(project, user))
    apply_update(state, project, issue, body, user, permitted)
    return json_response(issue_view(state, project, user)(issue))


@router.get("/issues/{issueId}/comments")
async def list_comments(request: Request) -> Response:
    state, project, _ = _ctx(request)
    issue = _issue(state, project, request.path_params["issueId"])
    rows = sorted(state.store.where("comments", _issue_id=issue["id"]), key=lambda r: r["createdAt"])
    sort = request.query_params.get("sortBy") or ""
    if sort.lstrip("-") == "createdAt" and sort.startswith("-"):
        rows.reverse()
    return json_response(page(request, rows, public, default_limit=100, max_limit=100))


def add_comment(state: AccState, issue: Record, text: str, user: Record) -> Record:
    if not text.strip() or len(text) > 10000:
        raise bad_input("body must be 1 to 10000 characters", [{"field": "body", "message": "length"}])
    now = state.store.now_iso()
    comment = state.store.insert(
        "comments",
        {
            "id": state.store.new_uuid(),
            "_issue_id": issue["id"],
            "body": text,
            "createdAt": now,
            "createdBy": user["id"],
            "updatedAt": now,
            "clientCreatedAt": now,
            "clientUpdatedAt": now,
            "permittedActions": [],
            "permittedAttributes": [],
        },
    )
    issue["commentCount"] = issue.get("commentCount", 0) + 1
    state.store.save()
    if state.webhooks is not None:
        state.webhooks.comment_event(issue, comment, user["id"])
    return comment


@router.post("/issues/{issueId}/comments")
async def create_comment(request: Request) -> Response:
    state, project, user = _ctx(request)
    issue = _issue(state, project, request.path_params["issueId"])
    body = await json_object(request)
    comment = add_comment(state, issue, str(body.get("body", "")), user)
    return json_response(public(comment), status=201)
