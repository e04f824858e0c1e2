"""A NUL character in any text input of any route ends in a 4xx, never a 5xx (on both databases).

Every route of the app (found the way the isolation walk finds them) is called twice with ids of
the caller's own company: once with a NUL in each query parameter it declares, once with a NUL in
every string of a body that passes validation (JSON for the API, a form for the admin pages).
PostgreSQL cannot store a NUL in text, so anything that reached the database used to be a 500.
"""

import re
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import PASSWORD, bearer, create_tenant, sign_in_browser
from tests.test_isolation import B_IDS, FIXED, UNSAFE, sample

NUL = "x\x00y"


def with_nul(value: Any) -> Any:
    """The same JSON with a NUL in every string."""
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, list):
        return [with_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: with_nul(v) for k, v in value.items()}
    return value


def query_names(dependant: Dependant) -> set[str]:
    """Every query parameter a route reads, through its dependencies and query models."""
    names: set[str] = set()
    for param in dependant.query_params:
        kind = param.field_info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names.update(f.alias or n for n, f in kind.model_fields.items())
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        names |= query_names(sub)
    return names


def _json_body(app: FastAPI, path: str, method: str) -> Any:
    operation = app.openapi()["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    components = app.openapi().get("components", {}).get("schemas", {})
    return sample(content["application/json"]["schema"], components)


async def test_nul_in_any_query_parameter_or_body_string_is_never_a_server_error(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings, "Probe")
    own_ids = {name: await factory(db, settings, tenant) for name, factory in B_IDS.items()}
    csrf = await sign_in_browser(client, tenant.admin.email, PASSWORD)
    calls = refused = 0
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        template = route.path_format
        path = template
        for name in re.findall(r"{(\w+)(?::\w+)?}", template):
            path = path.replace("{" + name + "}", str(FIXED.get(name) or own_ids[name]))
        api = template.startswith("/api/")
        headers = bearer(tenant.api_key) if api else {"X-CSRF-Token": csrf, "accept": "text/html"}
        query = dict.fromkeys(query_names(route.dependant) or {"q"}, NUL)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            attempts: list[dict[str, Any]] = [{"params": query}]
            body = _json_body(app, template, method)
            if body is not None and with_nul(body) != body:
                attempts.append({"json": with_nul(body)})
            elif method in UNSAFE and not api:
                attempts.append({"data": {"csrf_token": csrf, "name": NUL, "q": NUL, "note": NUL}})
            for kwargs in attempts:
                response = await client.request(method, path, headers=headers, **kwargs)
                where = f"{method} {template} {sorted(kwargs)}"
                assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
                calls += 1
                refused += response.status_code == 422 and "NUL character" in response.text
    assert calls > 60
    assert refused == calls, "every request carried a NUL; each must be refused as such"
