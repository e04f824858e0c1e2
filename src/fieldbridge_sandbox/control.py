"""The `/_sandbox/` control and inspection API (outside Procore's surface; docs/sandbox.md).

"Person edits" (`POST /_sandbox/projects/{id}` and friends, and the incident edit page)
play someone changing data in Procore's UI: they change the record and fire webhooks
exactly as an API change does, with `source_application_id: null`.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from fieldbridge_sandbox.auth import sandbox
from fieldbridge_sandbox.control_common import add_common_routes, read_json
from fieldbridge_sandbox.errors import bad_request, not_found
from fieldbridge_sandbox.oauth import revoke_all
from fieldbridge_sandbox.routes.common import emit_change
from fieldbridge_sandbox.routes.injury_shape import FILING_TYPES, injury_changed
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.store import TABLES, Record

TOOLS = ("timecards", "incidents", "observations", "daily_log")  # per-user tool levels (auth.TOOL_LEVELS)
VALUE_TABLES = ("hazards", "contributing_conditions", "contributing_behaviors", "observation_types")

router = APIRouter(prefix="/_sandbox")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def _public(row: Record) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


@router.post("/reset")
async def reset(request: Request) -> Response:
    data = await read_json(request)
    seed = data.get("seed", "demo")
    if seed not in ("demo", "large", "empty"):
        raise bad_request("seed must be demo, large or empty")
    sandbox(request).reset(seed)
    return json_response({"seed": seed})


@router.get("/apps")
async def apps(request: Request) -> Response:
    store = sandbox(request).store
    out = []
    for app in store["apps"]:
        installs = [
            {
                "company_id": int(cid),
                "company_name": (store["companies"].get(int(cid)) or {}).get("name"),
                "permitted_project_ids": ids,
            }
            for cid, ids in app["installs"].items()
        ]
        out.append(
            {
                "id": app["id"],
                "name": app["name"],
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "redirect_uris": app["redirect_uris"],
                "accepts_any_loopback_redirect": app["allow_loopback_redirects"],
                "service_account_user_id": app["service_user_id"],
                "installs": installs,
            }
        )
    return json_response(out)


def _revoke_on_request(state: SandboxState, data: dict[str, Any]) -> None:
    if data.pop("revoke_all_tokens", False):
        revoke_all(state)


add_common_routes(router, _revoke_on_request)


@router.get("/records/{resource}")
async def records(request: Request) -> Response:
    resource = request.path_params["resource"]
    if resource not in TABLES:
        raise not_found(f"Unknown resource {resource!r}; one of {', '.join(TABLES)}")
    rows = sandbox(request).store.all(resource)
    wanted = request.query_params.get("id")  # one record (FieldBridge's "open in Procore" links)
    if wanted is not None:
        rows = [r for r in rows if str(r.get("id")) == wanted]
    return json_response([_public(r) for r in rows])


@router.post("/revoke_all")
async def post_revoke_all(request: Request) -> Response:
    return json_response({"revoked": revoke_all(sandbox(request))})


@router.put("/webhooks/drop")
async def webhook_drop(request: Request) -> Response:
    """`{"rate": 0.05, "seed": 7}`: drop this share of events (never sent; listed as `discarded`)."""
    state = sandbox(request)
    data = await read_json(request)
    rate = data.get("rate", 0.0)
    if not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise bad_request("rate must be a number from 0 to 1")
    seed = data.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise bad_request("seed must be an integer or null")
    dispatcher = state.webhooks
    if dispatcher is not None:
        dispatcher.set_drop(float(rate), seed)
    return json_response({"rate": float(rate), "dropped": dispatcher.dropped if dispatcher else 0})


CHANGE_KINDS = {"cost_codes": "Cost Codes", "projects": "Projects", "people": "Company Users"}


@router.post("/changes")
async def random_changes(request: Request) -> Response:
    """`{"company_id": ..., "count": 10, "kinds": ["cost_codes", "projects", "people"], "seed": 1,
    "project_ids": [...]}` (optional: only these projects and their cost codes):
    rename random records of the company as a person would, each firing its webhook. Answers
    what changed, when (sandbox clock) and whether its webhook was sent or dropped."""
    state = sandbox(request)
    data = await read_json(request)
    company = state.store["companies"].get(data.get("company_id") or 0)
    if company is None:
        raise bad_request("company_id must name a company of the seed")
    count = data.get("count", 1)
    kinds = data.get("kinds", list(CHANGE_KINDS))
    if not isinstance(count, int) or not 1 <= count <= 1000:
        raise bad_request("count must be an integer from 1 to 1000")
    if not isinstance(kinds, list) or not kinds or any(k not in CHANGE_KINDS for k in kinds):
        raise bad_request(f"kinds must be a non-empty list of {', '.join(CHANGE_KINDS)}")
    only = data.get("project_ids")
    if only is not None and (not isinstance(only, list) or not all(isinstance(i, int) for i in only)):
        raise bad_request("project_ids must be a list of project ids")
    rng = random.Random(data.get("seed"))
    projects = [
        p
        for p in state.store["projects"].by(company["id"])
        if p["active"] and (only is None or p["id"] in only)
    ]
    if not projects:
        raise bad_request("no active project of the company to change")
    return json_response([_change(state, rng, company, projects, rng.choice(kinds)) for _ in range(count)])


def _change(
    state: SandboxState, rng: random.Random, company: Record, projects: list[Record], kind: str
) -> dict[str, Any]:
    store = state.store
    tag = f"r{store.new_id() % 1_000_000}"
    project_id: int | None = None
    if kind == "projects":
        row = rng.choice(projects)
        row["name"] = f"{row['name'].split(' ~')[0]} ~{tag}"
        row["display_name"] = f"{row['project_number']} - {row['name']}"
        project_id, field, value = row["id"], "name", row["name"]
    elif kind == "cost_codes":
        project = rng.choice([p for p in projects if store["cost_codes"].by(p["id"])] or projects)
        row = rng.choice(store["cost_codes"].by(project["id"]))
        row["name"] = f"{row['name'].split(' ~')[0]} ~{tag}"
        project_id, field, value = project["id"], "name", row["name"]
    else:
        row = rng.choice(store["people"].by(company["id"]))
        row["last_name"] = f"{row['last_name'].split(' ~')[0]} ~{tag}"
        row["name"] = f"{row['first_name']} {row['last_name']}".strip()
        field, value = "name", row["name"]
    dropped = state.webhooks.dropped if state.webhooks else 0
    _person_edit(state, CHANGE_KINDS[kind], row, company["id"], project_id)
    lost = state.webhooks is not None and state.webhooks.dropped > dropped
    return {
        "kind": kind,
        "id": row["id"],
        "project_id": project_id,
        "field": field,
        "value": value,
        "at": store.now(),
        "webhook": "dropped" if lost else "sent",
    }


# -- person edits -----------------------------------------------------------------------------
def _person_edit(
    state: SandboxState, resource: str, row: Record, company_id: int, project_id: int | None
) -> None:
    row["updated_at"] = state.store.now_iso()
    admin = next((u for u in state.store["users"].by(company_id) if u.get("_company_admin")), None)
    emit_change(
        state,
        resource,
        "update",
        row,
        company_id=company_id,
        project_id=project_id,
        user_id=admin["id"] if admin else None,
        app_id=None,
    )


def _get(state: SandboxState, table: str, row_id: int) -> Record:
    row = state.store[table].get(row_id)
    if row is None:
        raise not_found(f"{table} {row_id} not found")
    return row


@router.post("/projects/{id}")
async def edit_project(request: Request) -> Response:
    """`{"active": false}`, `{"name": ...}`, `{"app_permitted": false, "client_id": ...}`,
    `{"tools_disabled": ["timecards"]}`."""
    state = sandbox(request)
    project = _get(state, "projects", int(request.path_params["id"]))
    data = await read_json(request)
    for field in ("active", "name", "project_number", "stage"):
        if field in data:
            project[field] = data[field]
    project["display_name"] = f"{project['project_number']} - {project['name']}"
    if "tools_disabled" in data:
        project["_tools_disabled"] = list(data["tools_disabled"])
    if "app_permitted" in data:
        key = str(project["company_id"])
        for app in state.store["apps"]:
            if data.get("client_id") not in (None, app["client_id"]) or key not in app["installs"]:
                continue
            ids = app["installs"][key]
            if ids is None:
                ids = app["installs"][key] = [
                    p["id"] for p in state.store["projects"].by(project["company_id"])
                ]
            if data["app_permitted"] and project["id"] not in ids:
                ids.append(project["id"])
            elif not data["app_permitted"] and project["id"] in ids:
                ids.remove(project["id"])
    _person_edit(state, "Projects", project, project["company_id"], project["id"])
    return json_response(_public(project))


@router.post("/cost_codes/{id}")
async def edit_cost_code(request: Request) -> Response:
    state = sandbox(request)
    code = _get(state, "cost_codes", int(request.path_params["id"]))
    data = await read_json(request)
    for field in ("name", "code", "origin_id"):
        if field in data:
            code[field] = data[field]
    if data.get("deleted"):
        code["deleted_at"] = state.store.now_iso()
    project = _get(state, "projects", code["project_id"])
    _person_edit(state, "Cost Codes", code, project["company_id"], project["id"])
    return json_response(_public(code))


@router.post("/users/{id}")
async def edit_user(request: Request) -> Response:
    """`{"timecards": "none"|"read_only"|"standard"|"admin"}` (also `incidents`, `observations`,
    `daily_log`), `{"project_ids": [...]}`, `{"is_active": false}`, `{"company_admin": true}`."""
    state = sandbox(request)
    user = _get(state, "users", int(request.path_params["id"]))
    data = await read_json(request)
    for tool in TOOLS:
        if tool in data:
            user[f"_{tool}"] = data[tool]
    if "project_ids" in data:
        user["_project_ids"] = list(data["project_ids"])
    if "company_admin" in data:
        user["_company_admin"] = bool(data["company_admin"])
    if "is_active" in data:
        user["is_active"] = bool(data["is_active"])
    _person_edit(state, "Company Users", user, user["company_id"], None)
    return json_response(_public(user))


@router.post("/values/{table}/{id}")
async def edit_value(request: Request) -> Response:
    """A company pick-list value (`hazards`, `contributing_conditions`, `contributing_behaviors`,
    `observation_types`): `{"active": false}`, `{"name": ...}`."""
    state = sandbox(request)
    table = request.path_params["table"]
    if table not in VALUE_TABLES:
        raise not_found(f"{table} is not a pick list; use one of {', '.join(VALUE_TABLES)}")
    row = _get(state, table, int(request.path_params["id"]))
    data = await read_json(request)
    if "active" in data:
        row["active"] = bool(data["active"])
    if "name" in data:
        row["name"] = str(data["name"])
        if "localized_name" in row:
            row["localized_name"] = row["name"]
    row["updated_at"] = state.store.now_iso()
    state.store.touch()  # cached JSON of the lists is stale now
    state.store.save()
    return json_response(_public(row))


@router.post("/incidents/{id}")
async def edit_incident(request: Request) -> Response:
    state = sandbox(request)
    incident = _get(state, "incidents", int(request.path_params["id"]))
    data = await read_json(request)
    _apply_incident_edit(incident, data)
    project = _get(state, "projects", incident["project_id"])
    _person_edit(state, "Incidents", incident, project["company_id"], project["id"])
    return json_response(_public(incident))


def _apply_incident_edit(incident: Record, data: dict[str, Any]) -> None:
    for field in ("title", "description", "status", "recordable", "event_date"):
        if field in data and data[field] is not None:
            incident[field] = data[field]


@router.get("/edit/incidents/{id}")
async def incident_page(request: Request) -> Response:
    state = sandbox(request)
    incident = _get(state, "incidents", int(request.path_params["id"]))
    injuries = [
        i for i in state.store["injuries"].by(incident["project_id"]) if i["incident_id"] == incident["id"]
    ]
    context = {
        "incident": incident,
        "injuries": [i for i in injuries if not i["deleted_at"]],
        "filing_types": FILING_TYPES,
    }
    return templates.TemplateResponse(request, "incident_edit.html", context)


# What a safety manager edits on an injury in Procore's UI (its disposition and care).
INJURY_EDITS = (
    "filing_type",
    "treatment_facility",
    "treatment_provider",
    "treated_in_er",
    "hospitalized_overnight",
    "work_days_absent",
    "work_days_restricted",
    "date_returned_to_work",
)


def _edit_injury(state: SandboxState, injury: Record, data: dict[str, Any]) -> None:
    if "filing_type" in data and data["filing_type"] not in (None, *FILING_TYPES):
        raise bad_request(f"filing_type must be one of {', '.join(FILING_TYPES)}")
    for field in INJURY_EDITS:
        if field in data:
            injury[field] = data[field]
    injury["updated_at"] = state.store.now_iso()
    project = _get(state, "projects", injury["project_id"])
    admin = next((u for u in state.store["users"].by(project["company_id"]) if u.get("_company_admin")), None)
    injury_changed(state, injury, "update", user_id=admin["id"] if admin else None, app_id=None)


@router.post("/injuries/{id}")
async def edit_injury(request: Request) -> Response:
    """Person edit of an injury: `{"filing_type": "medically_treated", "treatment_facility": ...}`."""
    state = sandbox(request)
    injury = _get(state, "injuries", int(request.path_params["id"]))
    _edit_injury(state, injury, await read_json(request))
    return json_response(_public(injury))


@router.post("/edit/injuries/{id}")
async def injury_page_submit(request: Request) -> Response:
    state = sandbox(request)
    injury = _get(state, "injuries", int(request.path_params["id"]))
    form = await request.form()
    data: dict[str, Any] = {
        "filing_type": form.get("filing_type") or None,
        "treatment_facility": form.get("treatment_facility") or None,
        "treatment_provider": form.get("treatment_provider") or None,
        "treated_in_er": form.get("treated_in_er") == "on",
        "hospitalized_overnight": form.get("hospitalized_overnight") == "on",
    }
    _edit_injury(state, injury, data)
    return RedirectResponse(f"/_sandbox/edit/incidents/{injury['incident_id']}?saved=1", 303)


@router.post("/edit/incidents/{id}")
async def incident_page_submit(request: Request) -> Response:
    state = sandbox(request)
    incident = _get(state, "incidents", int(request.path_params["id"]))
    form = await request.form()
    _apply_incident_edit(
        incident,
        {
            "title": form.get("title"),
            "description": form.get("description"),
            "status": form.get("status"),
            "recordable": form.get("recordable") == "on",
        },
    )
    project = _get(state, "projects", incident["project_id"])
    _person_edit(state, "Incidents", incident, project["company_id"], project["id"])
    return RedirectResponse(f"/_sandbox/edit/incidents/{incident['id']}?saved=1", 303)


@router.get("/")
async def index(request: Request) -> Response:
    state = sandbox(request)
    return HTMLResponse(f"<h1>Procore sandbox</h1><p>seed: {state.store.seed_name}</p>")
