"""Procore's safety flow against the sandbox: mapping values as the company has them, project
tools with plain reasons (disabled tool, missing permission, inactive project), deep links, and
403s mapped to the export log's plain reasons."""

from typing import Any

from fieldbridge.connections.models import Connection
from fieldbridge.connections.outcomes import Rejected, classify
from fieldbridge.connectors.procore import errors as procore
from fieldbridge.connectors.procore.connector import map_error
from fieldbridge.connectors.procore.safety_flow import ProcoreSafety
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant
from tests.procore_fixtures import SANDBOX_URL, ProcoreEnv


async def _connection(db: Database, connection_id: int) -> Connection:
    async with db.transaction() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None
        session.expunge(row)
        return row


async def _project(env: ProcoreEnv, code: str) -> dict[str, Any]:
    rows = (await env.sandbox.get("/_sandbox/records/projects")).json()
    return next(p for p in rows if p["project_number"] == code)


async def test_values_tools_and_links_as_the_sandbox_company_has_them(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    env = procore_env
    tenant = await create_tenant(db, settings)
    connection = await _connection(db, await env.connect(tenant))
    flow = ProcoreSafety()
    args = (db, env.http, env.box, connection)

    hazards = {v.label: v.id for v in await flow.values(*args, "hazard")}
    assert {"Fall from height", "Struck by object", "Electrical"} <= set(hazards)
    types = [v.label for v in await flow.values(*args, "observation_type")]
    assert "Safety Violation" in types
    assert "Workmanship" not in types  # Safety category only
    assert [v.id for v in await flow.values(*args, "priority")] == ["Low", "Medium", "High", "Urgent"]
    # A hazard switched off in Procore is no longer offered.
    gone = await env.sandbox.post(f"/_sandbox/values/hazards/{hazards['Electrical']}", json={"active": False})
    assert gone.status_code == 200, gone.text
    assert "Electrical" not in {v.label for v in await flow.values(*args, "hazard")}

    active = await _project(env, "RMO-1001")
    pid = str(active["id"])
    assert await flow.project_tools(*args, pid) == {
        "incidents": None,
        "observations": None,
        "daily_log": None,
    }
    await env.sandbox.post(f"/_sandbox/projects/{pid}", json={"tools_disabled": ["daily_log"]})
    async with env.procore_client(connection.id) as client:
        me = await client.get_json("/rest/v1.0/me")  # the user who connected
    await env.sandbox.post(f"/_sandbox/users/{me['id']}", json={"observations": "none"})
    assert await flow.project_tools(*args, pid) == {
        "incidents": None,
        "observations": "no permission",
        "daily_log": "tool not enabled",
    }
    inactive = await _project(env, "OML-0901")
    assert set((await flow.project_tools(*args, str(inactive["id"]))).values()) == {"project inactive"}
    hidden = await _project(env, "SDC-1009")  # the app is not permitted on it
    assert set((await flow.project_tools(*args, str(hidden["id"]))).values()) == {"no permission"}

    assert flow.record_url("procore.safety.incident", pid, "42", connection.config) == (
        f"{SANDBOX_URL}/_sandbox/edit/incidents/42"
    )
    production = {"environment": "production"}
    assert flow.record_url("observation", "7", "9", production) == (
        "https://app.procore.com/7/project/observations/items/9"
    )
    assert flow.record_url("unknown", "7", "9", production) is None
    # The offline sandbox's page for one record: its records list narrowed to that id.
    url = flow.record_url(
        "procore.safety.observation", pid, str(hazards["Fall from height"]), connection.config
    )
    assert url is not None
    assert url.startswith(f"{SANDBOX_URL}/_sandbox/records/observation_items?id=")
    one = (await env.sandbox.get(f"/_sandbox/records/hazards?id={hazards['Fall from height']}")).json()
    assert [h["name"] for h in one] == ["Fall from height"]


def test_a_403_reads_as_one_of_the_plain_reasons() -> None:
    cases = {
        "The observations tool is disabled in this project": "tool not enabled: ",
        "Project is inactive": "project inactive: ",
        "User does not have right permissions for incidents": "no permission: ",
    }
    for body, prefix in cases.items():
        failure = classify(
            procore.NotPermitted(f"Procore refused: {body}", status=403, body=body),
            wrote=True,
            mapping=map_error,
        )
        assert isinstance(failure, Rejected)
        assert failure.reason.startswith(prefix), failure.reason
