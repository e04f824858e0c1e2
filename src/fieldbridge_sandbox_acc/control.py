"""The ACC sandbox's `/_sandbox/` control and inspection API (outside APS's surface).

"Person edits" (`POST /_sandbox/issues/{id}` and the issue page) play someone changing an
issue in ACC's UI: the change goes through the same rules as the API and fires the same
webhooks, with the person as `updatedBy` / `actorId`.
"""

from __future__ import annotations

import re
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from fieldbridge_sandbox.control_common import add_common_routes, read_json
from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import sandbox
from fieldbridge_sandbox_acc.errors import bad_input, not_found
from fieldbridge_sandbox_acc.issue_rules import NEW_ISSUE_ATTRIBUTES, statuses_of
from fieldbridge_sandbox_acc.oauth import revoke_all
from fieldbridge_sandbox_acc.routes.common import public
from fieldbridge_sandbox_acc.routes.issues import add_comment, apply_update, set_deleted
from fieldbridge_sandbox_acc.seeds import SAFETY
from fieldbridge_sandbox_acc.state import AccState
from fieldbridge_sandbox_acc.store import TABLES, Record

router = APIRouter(prefix="/_sandbox")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
DEFAULT_MARKER = r"\[fieldbridge:([A-Za-z0-9_.:-]+)\]"


def _revoke_on_request(state: AccState, data: dict[str, Any]) -> None:
    if data.pop("revoke_all_tokens", False):
        revoke_all(state)


add_common_routes(router, _revoke_on_request)


@router.post("/reset")
async def reset(request: Request) -> Response:
    seed = (await read_json(request)).get("seed", "demo")
    if seed not in ("demo", "empty"):
        raise bad_input("seed must be demo or empty")
    sandbox(request).reset(seed)
    return json_response({"seed": seed})


@router.get("/apps")
async def apps(request: Request) -> Response:
    rows = sandbox(request).store.rows("apps")
    return json_response([public(a) | {"client_secret": a["client_secret"]} for a in rows])


@router.get("/ids")
async def ids(request: Request) -> Response:
    """The handy ids of the seed: hubs, projects (DM and ACC forms), Safety subtypes, users."""
    store = sandbox(request).store
    projects = []
    for project in store.rows("projects"):
        safety = [
            s["id"]
            for t in store.where("issue_types", containerId=project["id"])
            for s in t["subtypes"]
            if s["title"] == SAFETY
        ]
        templates_ = store.where("form_templates", projectId=project["id"])
        projects.append(
            {
                "name": project["name"],
                "hub_id": project["hub_id"],
                "region": project["region"],
                "dm_project_id": f"b.{project['id']}",
                "acc_project_id": project["id"],
                "safety_subtype_id": safety[0] if safety else None,
                "form_templates": {t["name"]: t["id"] for t in templates_},
            }
        )
    return json_response(
        {
            "hubs": [public(h) for h in store.rows("hubs")],
            "projects": projects,
            "users": [{"id": u["id"], "name": u["name"], "email": u["email"]} for u in store.rows("users")],
        }
    )


@router.get("/records/{resource}")
async def records(request: Request) -> Response:
    resource = request.path_params["resource"]
    if resource not in TABLES:
        raise not_found(f"Unknown resource {resource!r}; one of {', '.join(TABLES)}")
    return json_response(list(sandbox(request).store.rows(resource)))


@router.get("/spec_violations")
async def spec_violations(request: Request) -> Response:
    return json_response(sandbox(request).spec_violations)


@router.post("/revoke_all")
async def post_revoke_all(request: Request) -> Response:
    return json_response({"revoked": revoke_all(sandbox(request))})


@router.get("/markers")
async def markers(request: Request) -> Response:
    """Issues per detection marker, for the exactly-once bench: a marker is found by `regex`
    (group 1) in the title or description, or is the value of the custom attribute titled
    `attribute`. `duplicates` counts the issues beyond the first for each marker; `expected`
    (comma-separated markers) adds `lost`: expected markers without an issue."""
    state = sandbox(request)
    q = request.query_params
    try:
        pattern = re.compile(q.get("regex") or DEFAULT_MARKER)
    except re.error as exc:
        raise bad_input(f"regex does not compile: {exc}") from None
    attribute = q.get("attribute")
    counts: Counter[str] = Counter()
    for issue in state.store.rows("issues"):
        if issue.get("deleted"):
            continue
        found: str | None = None
        if attribute:
            found = next(
                (
                    str(c["value"])
                    for c in issue.get("customAttributes", [])
                    if c["title"] == attribute and c["value"]
                ),
                None,
            )
        if found is None:
            match = pattern.search(f"{issue['title']}\n{issue.get('description') or ''}")
            found = match.group(1) if match and match.groups() else (match.group(0) if match else None)
        if found is not None:
            counts[found] += 1
    expected = [m for m in (q.get("expected") or "").split(",") if m]
    return json_response(
        {
            "markers": dict(counts),
            "issues": sum(counts.values()),
            "duplicates": sum(c - 1 for c in counts.values()),
            "lost": sum(1 for m in expected if counts[m] == 0),
        }
    )


def _issue(state: AccState, issue_id: str) -> tuple[Record, Record]:
    issue = state.store.get("issues", issue_id)
    if issue is None:
        raise not_found(f"Issue {issue_id} not found")
    project = state.store.get("projects", issue["containerId"])
    assert project is not None
    return issue, project


def _person(state: AccState, project: Record, user_id: str | None) -> Record:
    """The acting person: the given member, else the first member who is not an admin."""
    members = [state.store.get("users", i) for i in project["_member_ids"]]
    people = [u for u in members if u is not None]
    if user_id:
        chosen = next((u for u in people if u["id"] == user_id), None)
        if chosen is None:
            raise bad_input(f"user {user_id} is not a member of the project")
        return chosen
    return next((u for u in people if not u["_admin"]), people[0])


def _person_edit(state: AccState, issue: Record, project: Record, data: dict[str, Any]) -> Record:
    person = _person(state, project, data.get("user_id"))
    changes = {k: v for k, v in data.items() if k in NEW_ISSUE_ATTRIBUTES}
    if changes:
        # a person in ACC's UI may do anything a project admin may
        apply_update(state, project, issue, changes, person, list(NEW_ISSUE_ATTRIBUTES))
    if data.get("comment"):
        add_comment(state, issue, str(data["comment"]), person)
    if "deleted" in data and bool(data["deleted"]) != bool(issue.get("deleted")):
        set_deleted(state, issue, person, bool(data["deleted"]))
    return person


@router.post("/issues/{issue_id}")
async def edit_issue(request: Request) -> Response:
    """`{"status": "closed"}`, `{"title": ...}`, `{"comment": "..."}`, `{"deleted": true}`
    (false restores), `{"user_id": ...}`."""
    state = sandbox(request)
    issue, project = _issue(state, request.path_params["issue_id"])
    _person_edit(state, issue, project, await read_json(request))
    return json_response(public(issue))


@router.get("/edit/issues/{issue_id}")
async def issue_page(request: Request) -> Response:
    state = sandbox(request)
    issue, project = _issue(state, request.path_params["issue_id"])
    issue_type = state.store.get("issue_types", issue["issueTypeId"])
    users = [u for u in (state.store.get("users", i) for i in project["_member_ids"]) if u]
    users.sort(key=lambda u: u["_admin"])
    context = {
        "issue": issue,
        "users": users,
        "statuses": statuses_of(issue_type) if issue_type else [],
        "comments": sorted(
            state.store.where("comments", _issue_id=issue["id"]), key=lambda c: c["createdAt"]
        ),
        "saved": request.query_params.get("saved") == "1",
    }
    return templates.TemplateResponse(request, "issue_edit.html", context)


@router.post("/edit/issues/{issue_id}")
async def issue_page_submit(request: Request) -> Response:
    state = sandbox(request)
    issue, project = _issue(state, request.path_params["issue_id"])
    form = await request.form()
    data = {k: str(v) for k, v in form.items() if str(v)}
    _person_edit(state, issue, project, data)
    return RedirectResponse(f"/_sandbox/edit/issues/{issue['id']}?saved=1", 303)


@router.get("/")
async def index(request: Request) -> Response:
    state = sandbox(request)
    rows = "".join(
        f"<li><a href='/_sandbox/edit/issues/{i['id']}'>#{i['displayId']} {escape(i['title'])}</a>"
        f" ({i['status']})</li>"
        for i in state.store.rows("issues")
    )
    return HTMLResponse(f"<h1>ACC sandbox</h1><p>seed: {state.store.seed_name}</p><ul>{rows}</ul>")
