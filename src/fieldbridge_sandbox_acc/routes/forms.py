"""ACC Forms API, the daily-report route (no public OpenAPI document exists; the shapes follow
APS's reference pages and are listed as assumptions in docs/sandbox.md).

- `GET  /construction/forms/v1/projects/{projectId}/form-templates`
- `GET  /construction/forms/v1/projects/{projectId}/forms` (`templateId`, `formDateMin`,
  `formDateMax`, `updatedAfter`, `statuses`, `limit`, `offset`)
- `POST /construction/forms/v1/projects/{projectId}/form-templates/{templateId}/forms`
  (`name` <= 100, `description` <= 8000, `formDate` after 1950-01-01, `assigneeId` +
  `assigneeType`); a new form starts as `draft`; 201
- `GET  /construction/forms/v1/projects/{projectId}/forms/{formId}`
- `PATCH /construction/forms/v1/projects/{projectId}/forms/{formId}` (`name`, `description`,
  `formDate`, `status`: draft | submitted)
- `PUT  /construction/forms/v1/projects/{projectId}/forms/{formId}/values:batch-update`
  (`customValues`: [{`fieldId` or `itemLabel`, one of `textVal`, `numberVal`, `choiceVal`,
  `dateVal`, `toggleVal`}], `tabularValues`: {section: [rows]})
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import acc_project, principal, sandbox, user_of
from fieldbridge_sandbox_acc.errors import bad_input, not_found
from fieldbridge_sandbox_acc.routes.common import csv_param, int_param, json_object, public
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import Record

router = APIRouter(prefix="/construction/forms/v1/projects/{projectId}")
VALUE_KEYS = ("textVal", "numberVal", "choiceVal", "dateVal", "toggleVal", "arrayVal")


def _ctx(request: Request) -> tuple[AccState, Record, Record]:
    p = principal(request)
    project = acc_project(request, p, request.path_params["projectId"])
    return sandbox(request), project, user_of(p)


def _page(request: Request, rows: list[Record]) -> dict[str, Any]:
    limit = int_param(request, "limit", 50, 1, 50)
    offset = int_param(request, "offset", 0, 0, 10**9)
    chunk = rows[offset : offset + limit]
    next_url = None
    if offset + limit < len(rows):
        next_url = f"{request.url.path}?offset={offset + limit}&limit={limit}"
    return {
        "pagination": {"limit": limit, "offset": offset, "totalResults": len(rows), "nextUrl": next_url},
        "data": [public(r) for r in chunk],
    }


@router.get("/form-templates")
async def form_templates(request: Request) -> Response:
    state, project, _ = _ctx(request)
    rows = state.store.where("form_templates", projectId=project["id"])
    return json_response(_page(request, rows))


def _check_details(data: dict[str, Any], errors: list[dict[str, str]]) -> None:
    for name, limit in (("name", 100), ("description", 8000)):
        value = data.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append({"field": name, "message": f"must be a string of at most {limit} characters"})
    if data.get("formDate") is not None:
        try:
            if date.fromisoformat(str(data["formDate"])) <= date(1950, 1, 1):
                errors.append({"field": "formDate", "message": "must be after 1950-01-01"})
        except ValueError:
            errors.append({"field": "formDate", "message": "must be a date YYYY-MM-DD"})
    if (data.get("assigneeId") is None) != (data.get("assigneeType") is None):
        errors.append({"field": "assigneeId", "message": "assigneeId and assigneeType go together"})
    if data.get("assigneeType") not in (None, "user", "company", "role"):
        errors.append({"field": "assigneeType", "message": "must be user, company or role"})


@router.post("/form-templates/{templateId}/forms")
async def create_form(request: Request) -> Response:
    state, project, user = _ctx(request)
    template = state.store.get("form_templates", request.path_params["templateId"])
    if template is None or template["projectId"] != project["id"]:
        raise not_found("Form template not found")
    if template["status"] != "active":
        raise bad_input("The form template is archived")
    data = await json_object(request)
    errors: list[dict[str, str]] = []
    _check_details(data, errors)
    if errors:
        raise bad_input("Invalid form", errors)
    store = state.store
    now = store.now_iso()
    number = 1 + sum(1 for f in store.rows("forms") if f["projectId"] == project["id"])
    form = store.insert(
        "forms",
        {
            "id": store.new_uuid(),
            "projectId": project["id"],
            "formNum": number,
            "formTemplate": {
                "id": template["id"],
                "name": template["name"],
                "templateType": template["templateType"],
            },
            "name": data.get("name") or f"{template['name']} #{number}",
            "description": data.get("description"),
            "formDate": data.get("formDate") or now[:10],
            "assigneeId": data.get("assigneeId"),
            "assigneeType": data.get("assigneeType"),
            "status": "draft",
            "customValues": [],
            "tabularValues": {},
            "createdBy": user["id"],
            "createdAt": now,
            "updatedBy": user["id"],
            "updatedAt": now,
        },
    )
    store.save()
    return json_response(public(form), status=201)


@router.get("/forms")
async def list_forms(request: Request) -> Response:
    state, project, _ = _ctx(request)
    rows = state.store.where("forms", projectId=project["id"])
    q = request.query_params
    templates = csv_param(request, "templateId")
    if templates is not None:
        rows = [r for r in rows if r["formTemplate"]["id"] in templates]
    statuses = csv_param(request, "statuses")
    if statuses is not None:
        rows = [r for r in rows if r["status"] in statuses]
    if q.get("formDateMin"):
        rows = [r for r in rows if r["formDate"] >= q["formDateMin"]]
    if q.get("formDateMax"):
        rows = [r for r in rows if r["formDate"] <= q["formDateMax"]]
    if q.get("updatedAfter"):
        rows = [r for r in rows if r["updatedAt"] > q["updatedAfter"]]
    return json_response(_page(request, sorted(rows, key=lambda r: r["formNum"])))


def _form(state: AccState, project: Record, form_id: str) -> Record:
    form = state.store.get("forms", form_id)
    if form is None or form["projectId"] != project["id"]:
        raise not_found("Form not found")
    return form


@router.get("/forms/{formId}")
async def get_form(request: Request) -> Response:
    state, project, _ = _ctx(request)
    return json_response(public(_form(state, project, request.path_params["formId"])))


@router.patch("/forms/{formId}")
async def patch_form(request: Request) -> Response:
    state, project, user = _ctx(request)
    form = _form(state, project, request.path_params["formId"])
    data = await json_object(request)
    errors: list[dict[str, str]] = []
    _check_details(data, errors)
    if data.get("status") not in (None, "draft", "submitted"):
        errors.append({"field": "status", "message": "must be draft or submitted"})
    if errors:
        raise bad_input("Invalid form", errors)
    for key in ("name", "description", "formDate", "status", "assigneeId", "assigneeType"):
        if key in data:
            form[key] = data[key]
    form["updatedBy"], form["updatedAt"] = user["id"], state.store.now_iso()
    state.store.touch()
    state.store.save()
    return json_response(public(form))


@router.put("/forms/{formId}/values:batch-update")
async def batch_update_values(request: Request) -> Response:
    state, project, user = _ctx(request)
    form = _form(state, project, request.path_params["formId"])
    data = await json_object(request)
    custom = data.get("customValues") or []
    tabular = data.get("tabularValues") or {}
    if not isinstance(custom, list) or not isinstance(tabular, dict):
        raise bad_input("customValues must be a list and tabularValues an object")
    errors: list[dict[str, str]] = []
    for n, item in enumerate(custom):
        if not isinstance(item, dict) or not (item.get("fieldId") or item.get("itemLabel")):
            errors.append({"field": f"customValues.{n}", "message": "needs fieldId or itemLabel"})
        elif sum(1 for k in VALUE_KEYS if k in item) != 1:
            errors.append(
                {"field": f"customValues.{n}", "message": f"needs exactly one of {', '.join(VALUE_KEYS)}"}
            )
    if errors:
        raise bad_input("Invalid form values", errors)
    values = {(v.get("fieldId") or v.get("itemLabel")): v for v in form["customValues"]}
    for item in custom:
        values[item.get("fieldId") or item.get("itemLabel")] = item
    form["customValues"] = list(values.values())
    form["tabularValues"] = {**form["tabularValues"], **tabular}
    form["updatedBy"], form["updatedAt"] = user["id"], state.store.now_iso()
    state.store.touch()
    state.store.save()
    return json_response({"customValues": form["customValues"], "tabularValues": form["tabularValues"]})
