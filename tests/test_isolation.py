"""Tenant isolation: company A walks every route of the app against company B's ids.

Every route with a path id is called as A (API key, admin browser session, worker device) with
B's id, a body that passes validation, and A's CSRF token: the answer must be 404 (403 where A's
credential lacks the scope), and afterwards every row of B is unchanged. Every list route is
read as A and must not mention B's marker names.

A new route whose path parameter has no entry in `B_IDS` fails this test: add a factory that
makes one of B's objects of that kind.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import select

from fieldbridge.accounts.repository import ApiKeyRepository
from fieldbridge.connections.models import Connection
from fieldbridge.kit.db import Database
from fieldbridge.kit.remote_ids import NUMERIC_PATTERN
from fieldbridge.models import Base
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from fieldbridge.timekeeping.models import ClockShift
from tests.factories import PASSWORD, Tenant, bearer, create_tenant, sign_in_browser

IdFactory = Callable[[Database, Settings, Tenant], Awaitable[int | str]]


async def _api_key_id(db: Database, settings: Settings, b: Tenant) -> int:
    async with db.transaction() as session:
        keys = await ApiKeyRepository.from_session(session).list(b.company.id)
    return keys[0].id


async def _worker_id(db: Database, settings: Settings, b: Tenant) -> int:
    return b.worker.id


async def _user_id(db: Database, settings: Settings, b: Tenant) -> int:
    return b.support.id


async def _project_id(db: Database, settings: Settings, b: Tenant) -> int:
    async with db.transaction() as session:
        connection = Connection(company_id=b.company.id, provider="procore", label="Bravo Procore", config={})
        session.add(connection)
        await session.flush()
        project = Project(
            company_id=b.company.id, connection_id=connection.id, external_id="77", name="Bravo job"
        )
        session.add(project)
        await session.flush()
        return project.id


async def _shift_id(db: Database, settings: Settings, b: Tenant) -> int:
    async with db.transaction() as session:
        shift = ClockShift(
            company_id=b.company.id,
            client_id=f"bravo-shift-{b.company.id}",
            clock_in_id=f"bravo-in-{b.company.id}",
            worker_id=b.worker.id,
            project_id=1,
            milestone_id=1,
            place="Bravo job",
            work_date=date(2026, 1, 5),
            started_at=datetime(2026, 1, 5, 13, tzinfo=UTC),
            ended_at=datetime(2026, 1, 5, 21, tzinfo=UTC),
            export_subjects=[],
        )
        session.add(shift)
        await session.flush()
        return shift.id


async def _connection_id(db: Database, settings: Settings, b: Tenant) -> int:
    async with db.transaction() as session:
        existing = await session.scalar(select(Connection.id).where(Connection.company_id == b.company.id))
        if existing is not None:
            return int(existing)
        connection = Connection(
            company_id=b.company.id,
            provider="procore",
            label="Bravo Procore",
            status="connected",
            external_account_id=str(900_000 + b.company.id),
            config={},
        )
        session.add(connection)
        await session.flush()
        return connection.id


async def _delivery_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.delivery import service as delivery_service

    connection_id = await _connection_id(db, settings, b)
    async with db.transaction() as session:
        row = await delivery_service.enqueue(
            session,
            company_id=b.company.id,
            connection_id=connection_id,
            kind="procore.timecard.create",
            subject="bravo:1",
            payload={"project_id": 1, "date": "2026-01-05", "hours": "8"},
        )
        row.status = "rejected"  # every support action (retry, cancel) would apply to it
        return row.id


async def _milestone_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.sites.models import Milestone

    project_id = await _project_id(db, settings, b)
    async with db.transaction() as session:
        row = Milestone(
            company_id=b.company.id,
            project_id=project_id,
            key="procore:budget_line:cc:1:cat:2",
            cost_code_external_id="1",
            line_item_type_external_id="2",
            name="Bravo milestone",
        )
        session.add(row)
        await session.flush()
        return row.id


async def _category_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.sites.models import LineItemType

    connection_id = await _connection_id(db, settings, b)
    async with db.transaction() as session:
        row = LineItemType(
            company_id=b.company.id, connection_id=connection_id, external_id="3", name="Bravo labor"
        )
        session.add(row)
        await session.flush()
        return row.id


async def _person_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.sites.models import ProcorePerson

    connection_id = await _connection_id(db, settings, b)
    async with db.transaction() as session:
        row = ProcorePerson(
            company_id=b.company.id, connection_id=connection_id, external_id="4", name="Bravo person"
        )
        session.add(row)
        await session.flush()
        return row.id


async def _provider(db: Database, settings: Settings, b: Tenant) -> str:
    return "procore"  # the webhook receiver: B's connection id under its provider


async def _endpoint_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.webhooks import service as webhooks_service
    from fieldbridge.webhooks.schemas import EndpointIn

    async with db.transaction() as session:
        endpoint, _connection, _secret = await webhooks_service.create(
            session,
            settings,
            b.company.id,
            EndpointIn(url="https://93.184.215.14/bravo", description="Bravo hook"),
        )
        return endpoint.id


async def _site_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.safety.models import SafetySite

    project_id = await _project_id(db, settings, b)
    async with db.transaction() as session:
        row = SafetySite(company_id=b.company.id, project_id=project_id, name="Bravo site", time_zone="UTC")
        session.add(row)
        await session.flush()
        return row.id


async def _zone_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.safety.models import SafetyZone

    site_id = await _site_id(db, settings, b)
    async with db.transaction() as session:
        row = SafetyZone(
            company_id=b.company.id,
            site_id=site_id,
            name="Bravo deck",
            type="ppe_required",
            required_ppe=["hard_hat"],
        )
        session.add(row)
        await session.flush()
        return row.id


async def _site_shift_id(db: Database, settings: Settings, b: Tenant) -> int:
    from datetime import time

    from fieldbridge.safety.models import SafetyShift

    site_id = await _site_id(db, settings, b)
    async with db.transaction() as session:
        row = SafetyShift(
            company_id=b.company.id, site_id=site_id, name="Bravo day", start_time=time(6), end_time=time(14)
        )
        session.add(row)
        await session.flush()
        return row.id


async def _assignment_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.safety.models import WorkerDevice

    project_id = await _project_id(db, settings, b)
    async with db.transaction() as session:
        row = WorkerDevice(
            company_id=b.company.id,
            project_id=project_id,
            worker_id=b.worker.id,
            device_id="BRAVO-1",
            kind="wearable",
            valid_from=datetime(2026, 1, 5, tzinfo=UTC),
        )
        session.add(row)
        await session.flush()
        return row.id


async def _detection_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.safety.models import Detection

    site_id = await _site_id(db, settings, b)
    async with db.transaction() as session:
        row = Detection(
            company_id=b.company.id,
            site_id=site_id,
            client_event_id=f"bravo-{site_id}",
            type="fall",
            missing_items=[],
            priority=5,
            source="wearable",
            worker_id=b.worker.id,
            occurred_at=datetime(2026, 1, 5, 14, tzinfo=UTC),
            description="Bravo fall",
            evidence=[],
        )
        session.add(row)
        await session.flush()
        return row.id


async def _incident_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.incidents.models import Incident

    site_id = await _site_id(db, settings, b)
    async with db.transaction() as session:
        row = Incident(
            company_id=b.company.id,
            site_id=site_id,
            occurred_on=date(2026, 1, 5),
            description="Bravo incident",
            employee_name="Bravo injured",
        )
        session.add(row)
        await session.flush()
        return row.id


async def _link_id(db: Database, settings: Settings, b: Tenant) -> int:
    from fieldbridge.safety.models import SafetySite, SafetySiteLink

    site_id = await _site_id(db, settings, b)
    async with db.transaction() as session:
        site = await session.get(SafetySite, site_id)
        assert site is not None
        project = await session.get(Project, site.project_id)
        assert project is not None
        row = SafetySiteLink(
            company_id=b.company.id,
            site_id=site_id,
            connection_id=project.connection_id,
            project_id=project.id,
            remote_project_id=project.external_id,
        )
        session.add(row)
        await session.flush()
        return row.id


# How to get one of company B's objects for each path parameter name used by any route.
B_IDS: dict[str, IdFactory] = {
    "worker_id": _worker_id,
    "api_key_id": _api_key_id,
    "user_id": _user_id,
    "project_id": _project_id,
    "shift_id": _shift_id,
    "connection_id": _connection_id,
    "delivery_id": _delivery_id,
    "milestone_id": _milestone_id,
    "category_id": _category_id,
    "person_id": _person_id,
    "provider": _provider,
    "endpoint_id": _endpoint_id,
    "site_id": _site_id,
    "zone_id": _zone_id,
    "site_shift_id": _site_shift_id,
    "assignment_id": _assignment_id,
    "detection_id": _detection_id,
    "incident_id": _incident_id,
    "link_id": _link_id,
}
# Path parameters that name no company's object: filled with a fixed value; a route with
# only these has nothing of company B's to reach.
FIXED = {"provider": "procore"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def sample(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A minimal instance that satisfies a JSON schema (enough to get past request validation)."""
    if "$ref" in schema:
        return sample(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"]
            return sample(options[0], components)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {name: sample(props[name], components) for name in schema.get("required", [])}
    if kind == "array":
        count = max(1, schema.get("minItems", 0))
        return [sample(schema.get("items", {}), components) for _ in range(count)]
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.0, schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    if schema.get("format") == "email":
        return "someone@example.com"
    if schema.get("format") == "date-time":
        return "2026-01-05T08:00:00Z"
    if schema.get("format") == "time":
        return "06:00:00"
    if schema.get("format") == "date":
        return "2026-01-05"
    if "pattern" in schema and schema["pattern"] == "^[0-9]{4,8}$":
        return "123456"
    if schema.get("pattern") == NUMERIC_PATTERN:  # a Procore id, as a string
        return "1"
    return "x" * max(1, schema.get("minLength", 1))


def _body_for(app: FastAPI, route: Route, method: str) -> dict[str, Any]:
    spec = app.openapi()
    operation = spec["paths"].get(route.path, {}).get(method.lower())
    if not operation or "requestBody" not in operation:
        return {}
    content = operation["requestBody"]["content"]
    components = spec.get("components", {}).get("schemas", {})
    if "application/json" in content:
        return {"json": sample(content["application/json"]["schema"], components)}
    media = next(iter(content))
    return {"content": b"name\nx\n", "headers": {"content-type": media}}


async def _snapshot(db: Database, company_id: int) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with db.transaction() as session:
        for table in Base.metadata.sorted_tables:
            if "company_id" in table.c:
                rows = await session.execute(
                    select(table).where(table.c.company_id == company_id).order_by(*table.primary_key.columns)
                )
                out[table.name] = [tuple(r) for r in rows]
    return out


@dataclass(frozen=True)
class Route:
    path: str
    methods: frozenset[str]


def _routes(app: FastAPI) -> list[Route]:
    """Every HTTP route of the app, with the full path it is mounted at."""
    found = [Route(r.path_format, frozenset(r.methods or ())) for r in app.routes if isinstance(r, APIRoute)]
    assert len(found) > 10, "route discovery found too few routes"
    return found


async def _tenants(
    db: Database, settings: Settings, client: httpx.AsyncClient
) -> tuple[Tenant, Tenant, str, str]:
    a = await create_tenant(db, settings, "Alpha")
    b = await create_tenant(db, settings, "Bravo")
    signed = await client.post(
        "/api/v1/auth/worker-sign-in",
        json={"company_code": a.company.code, "pin": str(1000 + int(a.worker.employee_id[1:]))},
    )
    device = signed.json()["token"]
    csrf = await sign_in_browser(client, a.admin.email, PASSWORD)
    return a, b, device, csrf


async def test_company_a_cannot_touch_company_b_by_id(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a, b, device, csrf = await _tenants(db, settings, client)
    # Factories may create B's objects: make them all before the snapshot.
    b_ids = {name: await factory(db, settings, b) for name, factory in B_IDS.items()}
    before = await _snapshot(db, b.company.id)
    checked = 0
    for route in _routes(app):
        params = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        if not [p for p in params if p not in FIXED]:
            continue
        missing = [p for p in params if p not in B_IDS and p not in FIXED]
        assert not missing, f"{route.path}: add a factory for {missing} to B_IDS"
        path = route.path
        for name in params:
            path = path.replace("{" + name + "}", str(FIXED.get(name) or b_ids[name]))
        for method in sorted(route.methods - {"HEAD"}):
            kwargs = _body_for(app, route, method)
            extra_headers = kwargs.pop("headers", {})
            callers: list[tuple[str, dict[str, str], set[int]]] = [
                ("admin session", {"X-CSRF-Token": csrf, "accept": "text/html"}, {404}),
            ]
            if route.path.startswith("/api/"):
                callers.append(("api key", bearer(a.api_key), {404}))
                callers.append(("worker device", bearer(device), {403, 404}))
            for who, headers, allowed in callers:
                data = (
                    {"csrf_token": csrf} if method in UNSAFE and not route.path.startswith("/api/") else None
                )
                response = await client.request(
                    method, path, headers={**headers, **extra_headers}, data=data, **kwargs
                )
                assert response.status_code in allowed, (
                    f"{who} {method} {route.path} with company B's ids answered {response.status_code}: "
                    f"{response.text[:300]}"
                )
                checked += 1
    assert checked > 0
    assert await _snapshot(db, b.company.id) == before, "company B's rows changed"


async def test_company_a_lists_never_show_company_b(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    a, b, _device, _csrf = await _tenants(db, settings, client)
    listed = 0
    for route in _routes(app):
        if "GET" not in route.methods or "{" in route.path:
            continue
        for headers in (bearer(a.api_key), {"accept": "text/html"}):
            response = await client.get(route.path, headers=headers)
            if response.status_code != 200:
                continue
            listed += 1
            for marker in ("Bravo", b.worker.employee_id or "", b.admin.email, b.company.code):
                # A whole word: a random token (CSRF, nonce) may contain "E4" by chance.
                shown = re.search(rf"(?<![\w-]){re.escape(marker)}(?![\w-])", response.text)
                assert shown is None, f"GET {route.path} shows company B's {marker!r}"
    assert listed > 3
