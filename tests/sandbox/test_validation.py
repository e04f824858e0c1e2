"""Proof: every write operation the sandbox serves validates its body against Procore's schema.

The test walks the app's routes (not a hand-kept list), so a new write route without a
schema, or one that skips validation, fails here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fieldbridge_sandbox.app import write_operations
from fieldbridge_sandbox.state import SandboxState
from fieldbridge_sandbox.supplements import SUPPLEMENTS
from fieldbridge_sandbox.validation import load_operations

from .conftest import Demo, make_app

# Served write operations that procore-operations.json lacks (or has with an empty schema);
# their schemas are transcribed from the shared references in supplements.py.
SUPPLEMENTED = {
    ("POST", "/rest/v1.0/timecard_entries"),
    ("PATCH", "/rest/v1.0/timecard_entries/{id}"),
    ("PATCH", "/rest/v1.0/projects/{project_id}/crews/{id}"),
    ("PATCH", "/rest/v1.0/projects/{project_id}/timesheets/update_approval"),
    ("POST", "/rest/v1.0/webhooks/hooks"),
    ("PATCH", "/rest/v1.0/webhooks/hooks/{id}"),
    ("POST", "/rest/v1.0/webhooks/hooks/{hook_id}/triggers"),
}
APP = make_app()
OPERATIONS = write_operations(APP)


def sample(schema: dict[str, Any]) -> Any:
    """A value that satisfies `schema` (required fields only)."""
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {name: sample(props.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items") or {})]
    if schema.get("enum"):
        return next(e for e in schema["enum"] if e is not None)
    if schema.get("format") == "date":
        return "2025-02-03"
    if schema.get("format") == "date-time":
        return "2025-02-03T08:00:00Z"
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind or "", "x")


def wrong_type_target(schema: dict[str, Any], path: str = "") -> tuple[str, str] | None:
    """First scalar field reachable through objects: (dotted path, its type)."""
    for name, sub in (schema.get("properties") or {}).items():
        if name.startswith("custom_field_%") or sub.get("description") == "(nested object)":
            continue
        here = f"{path}.{name}".lstrip(".")
        if sub.get("type") in ("string", "integer", "boolean", "number", "array") and not sub.get("enum"):
            return here, sub["type"]
        if sub.get("type") == "object" or "properties" in sub:
            found = wrong_type_target(sub, here)
            if found:
                return found
    return None


def put(body: dict[str, Any], dotted: str, value: Any) -> None:
    node = body
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def fill_path(template: str, demo: Demo) -> str:
    values = {"project_id": demo.project_id, "company_id": demo.company_id}
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 5_000_000_001)), template)


def test_every_write_operation_has_a_schema_from_the_reference() -> None:
    state: SandboxState = APP.state.sandbox
    reference = load_operations()
    assert len(OPERATIONS) >= 30
    for key in OPERATIONS:
        assert state.validators.has(*key), key
        if key in SUPPLEMENTED:
            assert key in SUPPLEMENTS
        else:
            assert key in reference, key
            assert reference[key].get("requestBody"), key
            assert state.validators.sources[key].startswith("procore-operations.json")
    assert set(OPERATIONS) >= SUPPLEMENTED


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
async def test_invalid_bodies_are_rejected(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], app: FastAPI, operation: tuple[str, str]
) -> None:
    method, template = operation
    schema = app.state.sandbox.validators.schemas[operation]
    url = fill_path(template, demo)
    oauth = template.startswith("/oauth/")
    checked = 0
    if schema.get("required"):
        r = await client.request(method, url, json={}, headers=headers)
        assert r.status_code == 400, (operation, r.text)
        if oauth:
            assert r.json()["error"] == "invalid_request"
        else:
            assert set(r.json()["errors"]) >= set(schema["required"])
        checked += 1
    target = wrong_type_target(schema)
    if target is not None:
        field, kind = target
        body = sample(schema)
        put(body, field, 12345 if kind == "string" else "not-a-number")
        r = await client.request(
            method, url, content=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
        )
        # 422, unless the operation documents 400 and no 422 (then Procore answers 400)
        expected = 400 if oauth or operation in app.state.sandbox.validators.invalid_as_400 else 422
        assert r.status_code == expected, (operation, body, r.text)
        if not oauth:
            assert field in r.json()["errors"], r.text
        checked += 1
    assert checked, f"no invalid body could be built for {operation}"


async def test_form_bodies_are_coerced_before_validation(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    url = f"/rest/v1.0/projects/{demo.project_id}/notes_logs"
    ok = await client.post(
        url,
        files={
            "notes_log[comment]": (None, "multipart note"),
            "notes_log[is_issue_day]": (None, "true"),
            "notes_log[mt_location][]": (None, "Tower B"),
        },
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["is_issue_day"] is True
    assert ok.json()["location"]["name"] == "Tower B"
    bad = await client.post(url, files={"notes_log[location_id]": (None, "abc")}, headers=headers)
    assert bad.status_code == 422
    assert bad.json() == {"errors": {"notes_log.location_id": ["must be of type integer, got string"]}}


async def test_date_format_and_enum_are_checked(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str]
) -> None:
    url = f"/rest/v1.0/projects/{demo.project_id}/incidents"
    r = await client.post(url, json={"incident": {"status": "maybe", "event_date": "today"}}, headers=headers)
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"incident.status", "incident.event_date"}


async def test_bad_token_wins_over_bad_body(client: httpx.AsyncClient, demo: Demo) -> None:
    r = await client.post(f"/rest/v1.0/projects/{demo.project_id}/timecard_entries", json={})
    assert r.status_code == 401
