"""Every request FieldBridge sends to the ACC sandbox's Issues API, and every response it gets
back, validates against Autodesk's Issues.yaml (openapi-core), over every Issues operation the
connector uses: the exchanges are recorded on FieldBridge's side of the wire and checked here,
independently of the sandbox's own validation (which would have refused a bad request)."""

import re
from typing import Any

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge_sandbox_acc.spec import (
    ISSUES,
    SpecResponse,
    document_for,
    spec_request,
    validate_request,
    validate_response,
)
from tests.connectors.acc.conftest import AccEnv
from tests.connectors.acc.test_issues import linked, observation, rows
from tests.connectors.acc.test_summary import summary
from tests.delivery.helpers import make_due

ISSUES_PATH = "/construction/issues/v1/projects/"
# operationId by (method, path pattern): the Issues operations the connector uses
OPERATIONS = {
    ("GET", r"/users/me$"): "getUserProfile",
    ("GET", r"/issue-types$"): "getIssuesTypes",
    ("GET", r"/issue-attribute-definitions$"): "getAttributeDefinitions",
    ("GET", r"/issue-attribute-mappings$"): "getAttributeMappings",
    ("GET", r"/issues$"): "getIssues",
    ("POST", r"/issues$"): "createIssue",
    ("GET", r"/issues/[^/]+$"): "getIssueDetails",
    ("PATCH", r"/issues/[^/]+$"): "patchIssueDetails",
    ("GET", r"/issues/[^/]+/comments$"): "getComments",
    ("POST", r"/issues/[^/]+/comments$"): "CreateComments",
}


def operation(method: str, path: str) -> str | None:
    tail = path[len(ISSUES_PATH) :].split("/", 1)[-1]
    return next(
        (op for (m, pattern), op in OPERATIONS.items() if m == method and re.search(pattern, "/" + tail)),
        None,
    )


async def exercise(env: AccEnv, db: Database, settings: Settings) -> None:
    """Create, update, look up after a lost answer, close, comment (and look a comment up)."""
    tenant, connection_id, project = await linked(env, db, settings, "Harbor Logistics Center")
    kind = "acc.safety.observation"
    mapped = {"priority": {"remote_value": "Priority=High", "remote_label": "High", "missing": False}}
    await env.enqueue(
        tenant, connection_id, kind, "observation:1", observation(1, mapped=mapped), project, "o1"
    )
    await env.enqueue(tenant, connection_id, kind, "observation:1", observation(1, count=2), project, "o1v2")
    await env.drain(connection_id)
    issues = f"{ISSUES_PATH}{project}/issues"
    await env.sandbox.put("/_sandbox/faults", json={"drop_next": 1, "path_prefixes": [issues]})
    await env.enqueue(tenant, connection_id, kind, "observation:2", observation(2), project, "o2")
    await env.drain(connection_id)
    await make_due(env)  # type: ignore[arg-type]
    await env.drain(connection_id)
    incident = {"title": "Struck by", "description": "d", "status": "closed", "link": None, "version": 1}
    await env.enqueue(tenant, connection_id, "acc.safety.incident", "incident:1", incident, project, "i1")
    await env.drain(connection_id)
    await env.enqueue(
        tenant,
        connection_id,
        "acc.safety.daily_summary",
        "summary:4:2026-12-01",
        summary("2026-12-01", route="comment"),
        project,
        "s1",
    )
    await env.drain(connection_id)
    await env.sandbox.put("/_sandbox/faults", json={"drop_next": 1, "path_prefixes": [issues + "/"]})
    await env.enqueue(
        tenant,
        connection_id,
        "acc.safety.daily_summary",
        "summary:4:2026-12-02",
        summary("2026-12-02", route="comment"),
        project,
        "s2",
    )
    await env.drain(connection_id)
    await make_due(env)  # type: ignore[arg-type]
    await env.drain(connection_id)
    assert [r.status for r in await rows(db)] == ["delivered"] * 6, [r.reason for r in await rows(db)]


async def test_every_issues_request_and_response_meets_issues_yaml(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    await exercise(acc_env, db, settings)
    used: dict[str, int] = {}
    problems: list[Any] = []
    checked_elsewhere: set[str] = set()
    for request, response, body in acc_env.recording.exchanges:
        path = request.url.path
        document = document_for(path)
        if document is None:
            continue  # Data Management and Forms: no published OpenAPI document
        headers = list(request.headers.raw)
        spec = spec_request(
            "http://sandbox", request.method, path, request.url.query, headers, request.content
        )
        found = validate_request(document, spec)
        if found:
            problems.append((request.method, path, "request", found))
        content_type = response.headers.get("content-type", "application/json").split(";")[0]
        answer = SpecResponse(
            status_code=response.status_code, data=body, headers=response.headers, content_type=content_type
        )
        checked = validate_response(document, spec, answer)
        if checked:
            problems.append((request.method, path, "response", response.status_code, checked))
        if not path.startswith(ISSUES_PATH):
            checked_elsewhere.add(f"{request.method} {path.split('/')[1]}/{path.split('/')[3]}")
            continue
        op = operation(request.method, path)
        assert op is not None, f"an Issues call this test does not know: {request.method} {path}"
        if response.status_code < 300 and checked is not None:
            used[op] = used.get(op, 0) + 1
    assert problems == []
    assert set(used) == set(OPERATIONS.values()), sorted(set(OPERATIONS.values()) - set(used))
    # the webhook registration and the token endpoint met their documents too
    assert {"POST webhooks/tokens", "POST webhooks/systems", "POST authentication/token"} <= checked_elsewhere
    assert (await acc_env.sandbox.get("/_sandbox/spec_violations")).json() == []


def test_the_document_refuses_a_request_that_breaks_it() -> None:
    """The validation above is no formality: the same document turns away a bad create."""
    request = spec_request(
        "http://sandbox",
        "POST",
        f"{ISSUES_PATH}p-1/issues",
        b"",
        [(b"content-type", b"application/json")],
        b'{"title": 5, "status": "opened"}',
    )
    fields = {p["field"] for p in validate_request(ISSUES, request)}
    assert fields & {"title", "status", "issueSubtypeId"}, fields
