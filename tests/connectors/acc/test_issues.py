"""Safety observations and incidents as ACC issues of the Safety subtype, against the sandbox:
create with status, location, due date, custom attributes and the link back; updates PATCH only
what ACC permits; a lost answer is looked up, never sent twice; a project without the Safety
type is refused plainly; and every request and response met Autodesk's Issues.yaml."""

from typing import Any

from sqlalchemy import select

from fieldbridge.connectors.acc import setup as safety
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.acc.conftest import AccEnv
from tests.delivery.helpers import make_due
from tests.factories import create_tenant

RIVERSIDE = "Riverside Medical Office"


def observation(
    n: int, *, count: int = 1, title: str = "No hard hat in Zone A", **extra: Any
) -> dict[str, Any]:
    return {
        "detection_ids": [n],
        "site_id": 1,
        "type": "ppe_violation",
        "zone": "Zone A",
        "priority": 4,
        "count": count,
        "first_at": "2026-12-01T08:00:00Z",
        "last_at": "2026-12-01T08:05:00Z",
        "link": f"http://127.0.0.1:8000/safety/detections/{n}",
        "frame_ref": None,
        "title": title,
        "description": f"{count} detection(s) of a missing hard hat.",
        "mapped": {"observation_type": None, "priority": None},
        **extra,
    }


async def rows(db: Database) -> list[Delivery]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def issues_of(env: AccEnv, marker: str) -> list[dict[str, Any]]:
    return [i for i in await env.records("issues") if marker in str(i.get("description") or "")]


async def linked(
    env: AccEnv, db: Database, settings: Settings, name: str = RIVERSIDE
) -> tuple[Any, int, str]:
    tenant = await create_tenant(db, settings)
    connection_id, projects = await env.track(tenant, [name])
    return tenant, connection_id, projects[name]["external_id"]


async def test_an_observation_becomes_one_safety_issue_and_its_update_a_patch(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    kind = "acc.safety.observation"
    await acc_env.enqueue(
        tenant, connection_id, kind, "observation:41", observation(41), project, "observation:41:v1"
    )
    await acc_env.drain(connection_id)
    (created,) = await rows(db)
    assert created.status == "delivered", created.reason
    (issue,) = await issues_of(acc_env, "[fieldbridge:observation:41]")
    assert issue["id"] == created.remote_id
    assert issue["title"] == "No hard hat in Zone A"
    assert issue["status"] == "open"
    assert issue["locationDetails"] == "Zone A"
    assert issue["dueDate"].startswith("2026-12-03")
    assert "http://127.0.0.1:8000/safety/detections/41" in issue["description"]
    types = {t["id"]: t for t in await acc_env.records("issue_types")}
    subtype = next(
        s for t in types.values() for s in t.get("subtypes", []) if s["id"] == issue["issueSubtypeId"]
    )
    assert subtype["title"] == "Safety"
    assert created.remote_version == issue["updatedAt"]

    await acc_env.enqueue(
        tenant,
        connection_id,
        kind,
        "observation:41",
        observation(41, count=3, title="No hard hat in Zone A (x3)"),
        project,
        "observation:41:v3",
    )
    await acc_env.drain(connection_id)
    update = (await rows(db))[-1]
    assert update.status == "delivered", update.reason
    assert update.remote_id == created.remote_id
    (after,) = await issues_of(acc_env, "[fieldbridge:observation:41]")
    assert after["title"] == "No hard hat in Zone A (x3)"
    assert "3 detection(s)" in after["description"]


async def test_a_lost_answer_is_looked_up_and_not_sent_twice(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    await acc_env.enqueue(
        tenant,
        connection_id,
        "acc.safety.observation",
        "observation:7",
        observation(7),
        project,
        "observation:7:v1",
    )
    # The project sync cached its Safety setup, so the create is the next call to the issues
    # path; its answer is dropped after ACC saved it.
    faults = {"drop_next": 1, "path_prefixes": [f"/construction/issues/v1/projects/{project}/issues"]}
    assert (await acc_env.sandbox.put("/_sandbox/faults", json=faults)).status_code == 200
    await acc_env.drain(connection_id)
    (row,) = await rows(db)
    assert row.status == "retrying"
    assert len(await issues_of(acc_env, "[fieldbridge:observation:7]")) == 1  # ACC kept it
    await make_due(acc_env)  # type: ignore[arg-type]
    await acc_env.drain(connection_id)
    (row,) = await rows(db)
    assert row.status == "delivered", row.reason
    assert len(await issues_of(acc_env, "[fieldbridge:observation:7]")) == 1
    (issue,) = await issues_of(acc_env, "[fieldbridge:observation:7]")
    assert row.remote_id == issue["id"]


async def test_a_project_without_the_safety_type_is_refused_plainly(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings, "Old Mill Lofts")
    safety.forget(connection_id, project)
    await acc_env.enqueue(
        tenant,
        connection_id,
        "acc.safety.incident",
        "incident:3",
        {"title": "Fall", "description": "d", "status": "open", "link": None},
        project,
        "incident:3:v1",
    )
    await acc_env.drain(connection_id)
    (row,) = await rows(db)
    assert row.status == "rejected"
    assert row.reason is not None
    assert row.reason.startswith("tool not enabled: the ACC project has no active issue type titled 'Safety'")


async def test_a_missing_mapped_value_is_refused_before_anything_is_sent(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    gone = {"priority": {"remote_value": "Priority=Urgent", "remote_label": "Urgent", "missing": True}}
    await acc_env.enqueue(
        tenant,
        connection_id,
        "acc.safety.observation",
        "observation:9",
        observation(9, mapped=gone),
        project,
        "observation:9:v1",
    )
    await acc_env.drain(connection_id)
    (row,) = await rows(db)
    assert row.status == "rejected"
    assert row.reason is not None
    assert row.reason.startswith("mapped value missing")
    assert await issues_of(acc_env, "[fieldbridge:observation:9]") == []


async def test_an_incident_closed_in_fieldbridge_closes_its_issue(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    incident = {
        "incident_id": 5,
        "title": "Ladder fall",
        "description": "A fall from a ladder.",
        "status": "open",
        "zone": None,
        "event_at": "2026-12-01T07:30:00Z",
        "link": "http://127.0.0.1:8000/incidents/5",
        "version": 1,
        "mapped": {},
    }
    kind = "acc.safety.incident"
    await acc_env.enqueue(tenant, connection_id, kind, "incident:5", incident, project, "incident:5:v1")
    await acc_env.drain(connection_id)
    await acc_env.enqueue(
        tenant,
        connection_id,
        kind,
        "incident:5",
        {**incident, "status": "closed", "version": 2},
        project,
        "incident:5:v2",
    )
    await acc_env.drain(connection_id)
    assert [r.status for r in await rows(db)] == ["delivered", "delivered"]
    (issue,) = await issues_of(acc_env, "[fieldbridge:incident:5]")
    assert issue["status"] == "closed"
    assert issue["dueDate"].startswith("2026-12-08")
