"""Issues API project metadata: users/me, issue types (+ subtypes), custom attribute
definitions and mappings, root cause categories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import acc_project, is_project_admin, principal, sandbox, user_of
from fieldbridge_sandbox_acc.issue_rules import NEW_ISSUE_ATTRIBUTES, project_statuses
from fieldbridge_sandbox_acc.routes.common import csv_param, date_filter, page, public
from fieldbridge_sandbox_acc.store import Record

router = APIRouter(prefix="/construction/issues/v1/projects/{projectId}")


def _project(request: Request) -> tuple[Record, Record]:
    p = principal(request)
    project = acc_project(request, p, request.path_params["projectId"])
    return project, user_of(p)


@router.get("/users/me")
async def users_me(request: Request) -> Response:
    project, user = _project(request)
    admin = is_project_admin(project, user)
    state = sandbox(request)
    return json_response(
        {
            "id": user["id"],
            "isProjectAdmin": admin,
            "canManageTemplates": admin,
            "issues": {
                "new": {
                    "permittedActions": ["add_comment", "assign_all" if admin else "assign_same_company"],
                    "permittedAttributes": list(NEW_ISSUE_ATTRIBUTES),
                    "permittedStatuses": project_statuses(state.store, project["id"]),
                },
                "filter": {"permittedStatuses": project_statuses(state.store, project["id"])},
            },
            "permissionLevels": ["create", "read", "write"] if admin else ["create", "read"],
        }
    )


def _type_view(include_subtypes: bool) -> Any:
    def view(row: Record) -> dict[str, Any]:
        out = public(row)
        if include_subtypes:
            out["subtypes"] = [public(s) for s in row["subtypes"]]
        else:
            out.pop("subtypes", None)
        return out

    return view


def _active_filter(request: Request, rows: list[Record]) -> list[Record]:
    raw = request.query_params.get("filter[isActive]")
    if raw is None:
        return rows
    wanted = raw.lower() == "true"
    return [r for r in rows if bool(r.get("isActive")) == wanted]


def _updated_filter(request: Request, rows: list[Record]) -> list[Record]:
    updated = date_filter(request, "filter[updatedAt]")
    return rows if updated is None else [r for r in rows if updated(r.get("updatedAt"))]


@router.get("/issue-types")
async def issue_types(request: Request) -> Response:
    project, _ = _project(request)
    store = sandbox(request).store
    rows = sorted(store.where("issue_types", containerId=project["id"]), key=lambda r: r["orderIndex"])
    rows = _updated_filter(request, _active_filter(request, rows))
    include = "subtypes" in (csv_param(request, "include") or [])
    return json_response(page(request, rows, _type_view(include), default_limit=200, max_limit=200))


@router.get("/issue-attribute-definitions")
async def attribute_definitions(request: Request) -> Response:
    project, _ = _project(request)
    store = sandbox(request).store
    rows = _updated_filter(request, store.where("attr_definitions", containerId=project["id"]))
    types = csv_param(request, "filter[dataType]")
    if types is not None:
        rows = [r for r in rows if r["dataType"] in types]
    return json_response(page(request, rows, public, default_limit=200, max_limit=200))


@router.get("/issue-attribute-mappings")
async def attribute_mappings(request: Request) -> Response:
    project, _ = _project(request)
    store = sandbox(request).store
    rows = _updated_filter(request, store.where("attr_mappings", containerId=project["id"]))
    for name, key in (
        ("filter[mappedItemId]", "mappedItemId"),
        ("filter[attributeDefinitionId]", "attributeDefinitionId"),
    ):
        wanted = csv_param(request, name)
        if wanted is not None:
            rows = [r for r in rows if r[key] in wanted]
    return json_response(page(request, rows, public, default_limit=200, max_limit=200))


@router.get("/issue-root-cause-categories")
async def root_cause_categories(request: Request) -> Response:
    project, _ = _project(request)
    store = sandbox(request).store
    rows = _updated_filter(request, store.where("root_cause_categories", containerId=project["id"]))
    include = "rootcauses" in (csv_param(request, "include") or [])

    def view(row: Record) -> dict[str, Any]:
        out = public(row)
        if not include:
            out.pop("rootCauses", None)
        return out

    return json_response(page(request, rows, view, default_limit=200, max_limit=200))
