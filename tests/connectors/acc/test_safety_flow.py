"""ACC's SafetyFlow against the sandbox: mapping values from the Safety type's list attributes,
project tools with plain reasons, "open in ACC" links; and mapped values landing on the issue as
custom attributes (with the subject in the "Detection ID" attribute)."""

from fieldbridge.connections.outcomes import TOOL_NOT_ENABLED
from fieldbridge.connectors.acc.safety_flow import AccSafety
from fieldbridge.kit.db import Database
from fieldbridge.safety import mapping_service, setup
from fieldbridge.safety.link_service import Platform
from fieldbridge.settings import Settings
from tests.connectors.acc.conftest import AccEnv
from tests.connectors.acc.test_issues import issues_of, linked, observation, rows
from tests.factories import create_tenant


async def test_values_tools_and_links(acc_env: AccEnv, db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    connection_id, projects = await acc_env.track(tenant, ["Riverside Medical Office", "Old Mill Lofts"])
    connection = await acc_env.connection(connection_id)
    flow = AccSafety()
    values = await flow.values(db, acc_env.http, acc_env.box, connection, "priority")
    assert [(v.id, v.label) for v in values] == [
        ("Severity=Critical", "Critical"),
        ("Severity=High", "High"),
        ("Severity=Low", "Low"),
        ("Severity=Medium", "Medium"),
    ]
    assert await flow.values(db, acc_env.http, acc_env.box, connection, "hazard") == []
    riverside = projects["Riverside Medical Office"]["external_id"]
    old_mill = projects["Old Mill Lofts"]["external_id"]
    usable = await flow.project_tools(db, acc_env.http, acc_env.box, connection, riverside)
    assert usable == {"incidents": None, "observations": None, "daily_log": None}
    missing = await flow.project_tools(db, acc_env.http, acc_env.box, connection, old_mill)
    assert missing["observations"] == TOOL_NOT_ENABLED
    assert missing["incidents"] == TOOL_NOT_ENABLED
    link = flow.record_url("acc.safety.observation", riverside, "i-1", connection.config)
    assert link == "http://acc-sandbox.test/_sandbox/edit/issues/i-1"
    production = {**connection.config, "environment": "production", "offline_url": None}
    assert flow.record_url("incident", riverside, "i-1", production) == (
        f"https://acc.autodesk.com/build/issues/projects/{riverside}/issues?issueId=i-1"
    )


async def test_mapped_values_land_on_the_issue(acc_env: AccEnv, db: Database, settings: Settings) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    mapped = {"priority": {"remote_value": "Severity=High", "remote_label": "High", "missing": False}}
    payload = observation(21, mapped=mapped)
    await acc_env.enqueue(
        tenant, connection_id, "acc.safety.observation", "observation:21", payload, project, "k"
    )
    await acc_env.drain(connection_id)
    (row,) = await rows(db)
    assert row.status == "delivered", row.reason
    (issue,) = await issues_of(acc_env, "[fieldbridge:observation:21]")
    by_title = {a["title"]: a for a in issue["customAttributes"]}
    definitions = {d["id"]: d for d in await acc_env.records("attr_definitions")}
    severity = by_title["Severity"]
    options = definitions[severity["attributeDefinitionId"]]["metadata"]["list"]["options"]
    assert next(o["value"] for o in options if o["id"] == severity["value"]) == "High"
    assert by_title["Detection ID"]["value"] == "observation:21"


async def test_mapping_of_an_acc_account_without_some_attributes(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    """The demo account has Severity but no Observation type, Hazard or Incident type attribute:
    after a fetch those categories read as fetched and empty (nothing to pick, nothing sent), the
    priorities resolve to Severity's options, and the checklist's mapping step is done."""
    tenant = await create_tenant(db, settings)
    connection_id, _ = await acc_env.track(tenant, ["Riverside Medical Office"])
    connection = await acc_env.connection(connection_id)
    async with db.sessionmaker() as session:
        before = await mapping_service.mapping_view(session, connection)
    assert all(c.fetched_at is None for c in before.categories)

    platform = Platform(db, acc_env.http, acc_env.box)
    fetched = await mapping_service.fetch_values(platform, connection)
    async with db.transaction() as session:
        await mapping_service.store_values(session, connection, fetched)
    async with db.sessionmaker() as session:
        view = await mapping_service.mapping_view(session, connection)
        step = next(
            s for s in (await setup.checklist(session, tenant.company.id)).steps if s.key == "mapping"
        )
    by_name = {c.name: c for c in view.categories}
    for empty in ("observation_type", "hazard", "incident_type"):
        assert by_name[empty].fetched_at is not None
        assert by_name[empty].values == []
        assert [r.problem for r in by_name[empty].rows if r.problem] == []
        assert {r.origin for r in by_name[empty].rows} == {"none"}
    high = next(r for r in by_name["priority"].rows if r.source_key == "4")
    assert (high.origin, high.remote_value) == ("default", "Severity=High")
    assert step.done, step.detail
