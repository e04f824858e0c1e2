"""APS Webhooks API (webhooks.yaml) for system `autodesk.construction.issues`.

Only project admins create hooks, with a 3-legged token; the scope is `{"project": <id>}`
(with or without the `b.` prefix). Hooks are listed as `{"links": {"next": null}, "data": [...]}`
or 204 when there are none, as webhooks.yaml documents.
"""

from __future__ import annotations

import fnmatch
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import principal, sandbox, user_of
from fieldbridge_sandbox_acc.errors import AccError, webhooks_error
from fieldbridge_sandbox_acc.routes.common import json_object
from fieldbridge_sandbox_acc.store import Record
from fieldbridge_sandbox_acc.webhooks import ISSUE_EVENTS, ISSUES_SYSTEM, hook_details

router = APIRouter(prefix="/webhooks/v1")


_error = webhooks_error


def _bad(message: str) -> AccError:
    return webhooks_error(400, message)


def _system(request: Request) -> str:
    system = str(request.path_params["system"])
    if system != ISSUES_SYSTEM:
        raise _error(400, f"The sandbox serves system {ISSUES_SYSTEM} only, not {system}")
    return system


def _event(request: Request) -> str:
    event = str(request.path_params["event"])
    if not any(fnmatch.fnmatchcase(e, event) for e in ISSUE_EVENTS):
        raise _error(400, f"Unknown event {event} for {ISSUES_SYSTEM}")
    return event


def _owned(request: Request, owner: str) -> list[Record]:
    return [h for h in sandbox(request).store.rows("hooks") if h["createdBy"] == owner]


def _create(request: Request, owner: Record, event: str, data: dict[str, Any]) -> Record:
    state = sandbox(request)
    store = state.store
    callback = data.get("callbackUrl")
    scope = data.get("scope")
    if not isinstance(callback, str) or not callback.startswith(("http://", "https://")):
        raise _error(400, "callbackUrl is required and must be an http(s) URL")
    if not isinstance(scope, dict) or not isinstance(scope.get("project"), str):
        raise _error(400, 'scope is required: {"project": "<project id>"}')
    project_id = scope["project"].removeprefix("b.")
    project = store.get("projects", project_id)
    if project is None or owner["id"] not in project["_member_ids"]:
        raise _error(404, f"Project {scope['project']} not found")
    if owner["id"] not in project["_admin_ids"]:
        raise _error(403, "Only project admins can create webhooks for ACC issues")
    expiry = data.get("hookExpiry")
    if expiry is not None:
        try:
            datetime.fromisoformat(str(expiry).replace("Z", "+00:00"))
        except ValueError:
            raise _error(400, "hookExpiry must be an ISO 8601 date-time") from None
    for hook in store.rows("hooks"):
        if hook["event"] == event and hook["callbackUrl"] == callback and hook["_project_id"] == project_id:
            raise _error(409, "The specified hook already exists")
    now = store.now_iso()
    hook_id = store.new_uuid()
    return store.insert(
        "hooks",
        {
            "id": hook_id,
            "hookId": hook_id,
            "tenant": project_id,
            "callbackUrl": callback,
            "createdBy": owner["id"],
            "event": event,
            "createdDate": now,
            "lastUpdatedDate": now,
            "system": ISSUES_SYSTEM,
            "creatorType": "O2User",
            "status": "active",
            "autoReactivateHook": bool(data.get("autoReactivateHook", False)),
            "hookExpiry": expiry,
            "hookAttribute": data.get("hookAttribute"),
            "scope": {"project": scope["project"]},
            "urn": f"urn:adsk.webhooks:events.hook:{hook_id}",
            "callbackWithEventPayloadOnly": data.get("callbackWithEventPayloadOnly"),
            "_project_id": project_id,
            # a per-hook secret may also be given at creation (the sandbox accepts it)
            "_token": data.get("token"),
        },
    )


@router.post("/systems/{system}/events/{event}/hooks")
async def create_hook(request: Request) -> Response:
    owner = user_of(principal(request))
    _system(request)
    hook = _create(request, owner, _event(request), await json_object(request, _bad))
    location = f"{request.url}/{hook['hookId']}"
    return Response(status_code=201, headers={"Location": location})


@router.post("/systems/{system}/hooks")
async def create_system_hooks(request: Request) -> Response:
    owner = user_of(principal(request))
    _system(request)
    data = await json_object(request, _bad)
    hooks = [_create(request, owner, event, data) for event in ISSUE_EVENTS]
    return json_response({"hooks": [hook_details(h) for h in hooks]}, status=201)


def _listing(rows: list[Record]) -> Response:
    """One page (the sandbox never has more than 200 hooks per owner): no `links.next`."""
    if not rows:
        return Response(status_code=204)
    return json_response({"links": {}, "data": [hook_details(h) for h in rows]})


def _status_filter(request: Request, rows: list[Record]) -> list[Record]:
    wanted = request.query_params.get("status")
    return rows if not wanted else [r for r in rows if r["status"] == wanted]


@router.get("/hooks")
async def list_hooks(request: Request) -> Response:
    owner = user_of(principal(request))
    return _listing(_status_filter(request, _owned(request, owner["id"])))


@router.get("/systems/{system}/hooks")
async def list_system_hooks(request: Request) -> Response:
    owner = user_of(principal(request))
    system = _system(request)
    rows = [h for h in _owned(request, owner["id"]) if h["system"] == system]
    return _listing(_status_filter(request, rows))


@router.get("/systems/{system}/events/{event}/hooks")
async def list_event_hooks(request: Request) -> Response:
    owner = user_of(principal(request))
    system, event = _system(request), request.path_params["event"]
    rows = [h for h in _owned(request, owner["id"]) if h["system"] == system and h["event"] == event]
    return _listing(_status_filter(request, rows))


def _one(request: Request) -> Record:
    owner = user_of(principal(request))
    hook = sandbox(request).store.get("hooks", request.path_params["hook_id"])
    if (
        hook is None
        or hook["createdBy"] != owner["id"]
        or hook["event"] != request.path_params["event"]
        or hook["system"] != request.path_params["system"]
    ):
        raise _error(404, "Hook not found")
    return hook


@router.get("/systems/{system}/events/{event}/hooks/{hook_id}")
async def get_hook(request: Request) -> Response:
    return json_response(hook_details(_one(request)))


@router.patch("/systems/{system}/events/{event}/hooks/{hook_id}")
async def patch_hook(request: Request) -> Response:
    hook = _one(request)
    data = await json_object(request, _bad)
    if "status" in data and data["status"] not in ("active", "inactive"):
        raise _error(400, "status must be active or inactive")
    if "status" in data:
        was = hook["status"]
        hook["status"] = "reactivated" if was == "inactive" and data["status"] == "active" else data["status"]
    for key in (
        "autoReactivateHook",
        "hookAttribute",
        "hookExpiry",
        "filter",
        "callbackWithEventPayloadOnly",
    ):
        if key in data:
            hook[key] = data[key]
    if "token" in data:
        hook["_token"] = data["token"] or None
    store = sandbox(request).store
    hook["lastUpdatedDate"] = store.now_iso()
    store.touch()
    store.save()
    return Response(status_code=200)


@router.delete("/systems/{system}/events/{event}/hooks/{hook_id}")
async def delete_hook(request: Request) -> Response:
    hook = _one(request)
    store = sandbox(request).store
    store.table("hooks").pop(hook["id"], None)
    store.touch()
    store.save()
    return Response(status_code=204)


def _token_owner(request: Request) -> str:
    p = principal(request)
    return str(p.user["id"] if p.user is not None else p.app["client_id"])


def _token_value(data: dict[str, Any]) -> str:
    value = data.get("token")
    if not isinstance(value, str) or not value:
        raise _error(400, "token is required")
    return value


@router.post("/tokens")
async def create_token(request: Request) -> Response:
    owner = _token_owner(request)
    value = _token_value(await json_object(request, _bad))
    store = sandbox(request).store
    if owner in store.hook_secrets:
        raise _error(400, "Secret token already exists")
    store.hook_secrets[owner] = value
    store.save()
    return json_response({"status": 200, "detail": [f"Token created successfully for {owner}"]})


@router.put("/tokens/@me")
async def put_token(request: Request) -> Response:
    owner = _token_owner(request)
    value = _token_value(await json_object(request, _bad))
    store = sandbox(request).store
    store.hook_secrets[owner] = value
    store.save()
    return Response(status_code=204)


@router.delete("/tokens/@me")
async def delete_token(request: Request) -> Response:
    owner = _token_owner(request)
    store = sandbox(request).store
    store.hook_secrets.pop(owner, None)
    store.save()
    return Response(status_code=204)
