"""The daily safety summary in ACC (no public Daily Log API): a form of the project's Daily
Report template when it has one, else a comment on the site's summaries issue, nothing, or a
plain refusal, per the link's summary route."""

from typing import Any

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.connectors.acc.conftest import AccEnv
from tests.connectors.acc.test_issues import linked, rows

KIND = "acc.safety.daily_summary"


def summary(
    day: str, version: int = 1, route: str = "native", text: str = "2 observations, 0 incidents."
) -> dict[str, Any]:
    return {
        "site_id": 4,
        "date": day,
        "text": text,
        "version": version,
        "counts": {"observations": 2},
        "link": "http://127.0.0.1:8000/safety/sites/4",
        "summary_route": route,
    }


async def test_a_project_with_a_daily_report_template_gets_a_form_updated_in_place(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings)
    subject = "summary:4:2026-12-01"
    await acc_env.enqueue(
        tenant, connection_id, KIND, subject, summary("2026-12-01"), project, f"{subject}:v1"
    )
    await acc_env.drain(connection_id)
    await acc_env.enqueue(
        tenant,
        connection_id,
        KIND,
        subject,
        summary("2026-12-01", 2, text="3 observations."),
        project,
        f"{subject}:v2",
    )
    await acc_env.drain(connection_id)
    first, second = await rows(db)
    assert (first.status, second.status) == ("delivered", "delivered"), (first.reason, second.reason)
    assert first.remote_id == second.remote_id
    forms = [f for f in await acc_env.records("forms") if f["id"] == first.remote_id]
    (form,) = forms
    assert form["name"] == "Safety summary 2026-12-01"
    assert form["formDate"].startswith("2026-12-01")
    assert "3 observations." in form["description"]
    assert "[fieldbridge:summary:4:2026-12-01:v2]" in form["description"]


async def test_without_a_template_the_comment_route_comments_on_one_summaries_issue(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings, "Harbor Logistics Center")
    for day in ("2026-12-01", "2026-12-02"):
        subject = f"summary:4:{day}"
        await acc_env.enqueue(
            tenant, connection_id, KIND, subject, summary(day, route="comment"), project, f"{subject}:v1"
        )
        await acc_env.drain(connection_id)
    assert [r.status for r in await rows(db)] == ["delivered", "delivered"]
    holders = [
        i for i in await acc_env.records("issues") if i["title"] == "FieldBridge daily safety summaries"
    ]
    assert len(holders) == 1
    comments = [c for c in await acc_env.records("comments") if "[fieldbridge:summary:4:" in c["body"]]
    assert len(comments) == 2
    assert {r.remote_record["issue_id"] for r in await rows(db) if r.remote_record} == {holders[0]["id"]}
    assert all("2 observations, 0 incidents." in c["body"] for c in comments)


async def test_without_a_template_native_is_refused_and_off_sends_nothing(
    acc_env: AccEnv, db: Database, settings: Settings
) -> None:
    tenant, connection_id, project = await linked(acc_env, db, settings, "Harbor Logistics Center")
    await acc_env.enqueue(
        tenant, connection_id, KIND, "summary:4:2026-12-01", summary("2026-12-01"), project, "a"
    )
    await acc_env.enqueue(
        tenant, connection_id, KIND, "summary:5:2026-12-01", summary("2026-12-01", route="off"), project, "b"
    )
    issues_before = len(await acc_env.records("issues"))
    await acc_env.drain(connection_id)
    native, off = await rows(db)
    assert native.status == "rejected"
    assert native.reason is not None
    assert native.reason.startswith(
        "This ACC project has no Daily Report form template, and ACC has no Daily Log API"
    )
    assert off.status == "delivered"
    assert len(await acc_env.records("issues")) == issues_before
