"""Data Management: hubs and projects (JSON:API), with the `b.` prefix on their ids.

A hub id is `b.<account id>`, a project id `b.<ACC project id>`; the ACC APIs (Issues, Forms)
take the project id without the prefix. `x-ads-region`, when sent, limits the answer to hubs
of that region.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fieldbridge_sandbox.serialize import json_response
from fieldbridge_sandbox_acc.auth import Principal, principal, sandbox
from fieldbridge_sandbox_acc.errors import dm_error
from fieldbridge_sandbox_acc.routes.common import int_param
from fieldbridge_sandbox_acc.store import Record

router = APIRouter()
JSONAPI = {"version": "1.0"}


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _hub_json(request: Request, hub: Record) -> dict[str, Any]:
    href = f"{_base(request)}/project/v1/hubs/{hub['id']}"
    return {
        "type": "hubs",
        "id": hub["id"],
        "attributes": {
            "name": hub["name"],
            "region": hub["region"],
            "extension": {
                "type": "hubs:autodesk.bim360:Account",
                "version": "1.0",
                "schema": {"href": f"{_base(request)}/schema/v1/versions/hubs:autodesk.bim360:Account-1.0"},
                "data": {},
            },
        },
        "links": {"self": {"href": href}},
        "relationships": {"projects": {"links": {"related": {"href": f"{href}/projects"}}}},
    }


def _project_json(request: Request, project: Record) -> dict[str, Any]:
    hub_href = f"{_base(request)}/project/v1/hubs/{project['hub_id']}"
    return {
        "type": "projects",
        "id": f"b.{project['id']}",
        "attributes": {
            "name": project["name"],
            "scopes": ["b360project.{}".format(project["id"]), "global"],
            "extension": {
                "type": "projects:autodesk.bim360:Project",
                "version": "1.0",
                "data": {"projectType": "ACC"},
            },
        },
        "links": {"self": {"href": f"{hub_href}/projects/b.{project['id']}"}},
        "relationships": {
            "hub": {
                "data": {"type": "hubs", "id": project["hub_id"]},
                "links": {"related": {"href": hub_href}},
            }
        },
    }


def _hubs(request: Request, p: Principal) -> list[Record]:
    store = sandbox(request).store
    wanted = request.headers.get("x-ads-region")
    if p.user is None:
        hubs = list(store.rows("hubs"))
    else:
        hubs = [h for h in store.rows("hubs") if h["id"] in p.user["_hub_ids"]]
    return [h for h in hubs if wanted is None or h["region"] == wanted.upper()]


def _hub(request: Request, p: Principal) -> Record:
    hub_id = request.path_params["hub_id"]
    hub = next((h for h in _hubs(request, p) if h["id"] == hub_id), None)
    if hub is None:
        raise dm_error(404, f"Hub {hub_id} not found (hub ids carry the `b.` prefix)")
    return hub


def _paged(request: Request, items: list[dict[str, Any]], self_href: str) -> dict[str, Any]:
    number = int_param(request, "page[number]", 0, 0, 10**6)
    limit = int_param(request, "page[limit]", 200, 1, 200)
    chunk = items[number * limit : (number + 1) * limit]
    links: dict[str, Any] = {"self": {"href": self_href}}
    if (number + 1) * limit < len(items):
        links["next"] = {"href": f"{self_href}?page%5Bnumber%5D={number + 1}&page%5Blimit%5D={limit}"}
    return {"jsonapi": JSONAPI, "links": links, "data": chunk}


@router.get("/project/v1/hubs")
async def hubs(request: Request) -> Response:
    p = principal(request)
    items = [_hub_json(request, h) for h in _hubs(request, p)]
    return json_response(_paged(request, items, f"{_base(request)}/project/v1/hubs"))


@router.get("/project/v1/hubs/{hub_id}")
async def hub(request: Request) -> Response:
    p = principal(request)
    return json_response({"jsonapi": JSONAPI, "data": _hub_json(request, _hub(request, p))})


def _visible_projects(request: Request, p: Principal, hub: Record) -> list[Record]:
    rows = sandbox(request).store.where("projects", hub_id=hub["id"])
    if p.user is not None:
        rows = [r for r in rows if p.user["id"] in r["_member_ids"]]
    return rows


@router.get("/project/v1/hubs/{hub_id}/projects")
async def projects(request: Request) -> Response:
    p = principal(request)
    hub = _hub(request, p)
    items = [_project_json(request, r) for r in _visible_projects(request, p, hub)]
    href = f"{_base(request)}/project/v1/hubs/{hub['id']}/projects"
    return json_response(_paged(request, items, href))


@router.get("/project/v1/hubs/{hub_id}/projects/{project_id}")
async def project(request: Request) -> Response:
    p = principal(request)
    hub = _hub(request, p)
    project_id = request.path_params["project_id"]
    found = next((r for r in _visible_projects(request, p, hub) if f"b.{r['id']}" == project_id), None)
    if found is None:
        raise dm_error(404, f"Project {project_id} not found (Data Management ids carry the `b.` prefix)")
    return json_response({"jsonapi": JSONAPI, "data": _project_json(request, found)})
