"""The export log through /api/v1 and the admin pages: filters, counts, CSV, detail, actions."""

import csv
import io
import re

from fieldbridge.delivery.states import Status
from tests.delivery.helpers import Linked, enqueue, linked, rows, run, shift
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


async def _log_with_one_rejected(env: ProcoreEnv) -> tuple[Linked, int, int]:
    link = await linked(env)
    good = await enqueue(env, link, shift(link.projects[0], link.people[0]), subject="clock_session:1")
    # a person Procore does not know: refused for good (an inactive project is held instead)
    bad = await enqueue(env, link, shift(link.projects[1], 999_999_999), subject="clock_session:2")
    await run(env, link)
    return link, good, bad


async def test_api_lists_filters_counts_and_exports(procore_env: ProcoreEnv) -> None:
    link, good, bad = await _log_with_one_rejected(procore_env)
    auth = bearer(link.tenant.api_key)
    client = procore_env.client
    everything = (await client.get("/api/v1/deliveries", headers=auth)).json()
    assert everything["total"] == 2
    rejected = (await client.get("/api/v1/deliveries", params={"status": "rejected"}, headers=auth)).json()
    assert [r["id"] for r in rejected["items"]] == [bad]
    assert "not a person in this Procore company" in rejected["items"][0]["reason"]
    counts = (await client.get("/api/v1/deliveries/counts", headers=auth)).json()
    assert counts == {"counts": {"delivered": 1, "rejected": 1}, "total": 2}
    by_project = await client.get("/api/v1/deliveries", params={"project_id": link.projects[0]}, headers=auth)
    assert [r["id"] for r in by_project.json()["items"]] == [good]
    detail = (await client.get(f"/api/v1/deliveries/{good}", headers=auth)).json()
    assert isinstance(detail["remote_id"], str)
    assert detail["remote_id"].isdigit()  # Procore's entry id, kept as a string
    assert detail["remote_project_id"] == str(link.projects[0])
    assert detail["attempt_log"][0]["outcome"] == "delivered"
    assert detail["payload"]["project_id"] == link.projects[0]
    exported = await client.get("/api/v1/deliveries.csv", headers=auth)
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["status"] for r in table} == {"delivered", "rejected"}


async def test_api_actions_need_the_write_scope_and_stay_in_the_company(procore_env: ProcoreEnv) -> None:
    link, good, bad = await _log_with_one_rejected(procore_env)
    auth = bearer(link.tenant.api_key)
    client = procore_env.client
    other = await create_tenant(procore_env.db, procore_env.settings, "Other")
    assert (await client.get(f"/api/v1/deliveries/{bad}", headers=bearer(other.api_key))).status_code == 404
    assert (
        await client.post(f"/api/v1/deliveries/{bad}/retry", headers=bearer(other.api_key))
    ).status_code == 404
    assert (await client.post(f"/api/v1/deliveries/{good}/retry", headers=auth)).status_code == 409
    retried = await client.post(f"/api/v1/deliveries/{bad}/retry", headers=auth)
    assert retried.status_code == 200
    assert retried.json()["status"] == "pending"
    cancelled = await client.post(f"/api/v1/deliveries/{bad}/cancel", headers=auth)
    assert cancelled.json()["status"] == "cancelled"
    replayed = await client.post(f"/api/v1/deliveries/{good}/replay", headers=auth)
    assert replayed.json()["status"] == "pending"
    keys = await client.post(
        "/api/v1/api-keys", json={"name": "read only", "scopes": ["deliveries:read"]}, headers=auth
    )
    read_only = bearer(keys.json()["key"])
    assert (await client.get("/api/v1/deliveries", headers=read_only)).status_code == 200
    denied = await client.post(f"/api/v1/deliveries/{bad}/retry", headers=read_only)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "missing_scope"


async def test_support_reads_a_rejected_row_and_retries_it_in_the_browser_pages(
    procore_env: ProcoreEnv,
) -> None:
    link, _, bad = await _log_with_one_rejected(procore_env)
    client = procore_env.client
    csrf = await sign_in_browser(client, link.tenant.support.email)
    page = await client.get("/export-log", params={"status": "rejected"})
    assert page.status_code == 200
    assert f'href="/export-log/{bad}"' in page.text
    assert "Export log" in page.text
    detail = await client.get(f"/export-log/{bad}")
    assert "not a person in this Procore company" in detail.text
    assert f'action="/export-log/{bad}/retry"' in detail.text
    no_csrf = await client.post(f"/export-log/{bad}/retry", data={})
    assert no_csrf.status_code == 403
    done = await client.post(f"/export-log/{bad}/retry", data={"csrf_token": csrf})
    assert done.status_code == 303
    assert {r.id: r.status for r in await rows(procore_env)}[bad] == Status.pending
    after = await client.get(done.headers["location"])
    assert re.search(r'id="status">pending<', after.text)
    other = await create_tenant(procore_env.db, procore_env.settings, "Other")
    async_client = procore_env.client
    async_client.cookies.clear()
    other_csrf = await sign_in_browser(async_client, other.admin.email)
    assert (await async_client.get(f"/export-log/{bad}")).status_code == 404
    stolen = await async_client.post(f"/export-log/{bad}/cancel", data={"csrf_token": other_csrf})
    assert stolen.status_code == 404


async def test_bad_filters_get_a_clear_answer_not_a_500(procore_env: ProcoreEnv) -> None:
    link = await linked(procore_env)
    auth = bearer(link.tenant.api_key)
    client = procore_env.client
    too_long = {"project_id": "b." + "x" * 63}  # ids of other platforms are strings, up to 64
    for params in ({"status": "lost"}, {"since": "yesterday"}, too_long, {"page": "0"}):
        response = await client.get("/api/v1/deliveries", params=params, headers=auth)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "invalid_request"
    # A project id that is not a number is another platform's: a filter, not an error.
    row = await enqueue(procore_env, link, {"project_id": "b.1234-abcd"}, subject="other:1")
    other = await client.get("/api/v1/deliveries", params={"project_id": "b.1234-abcd"}, headers=auth)
    assert other.status_code == 200
    assert [(r["id"], r["remote_project_id"]) for r in other.json()["items"]] == [(row, "b.1234-abcd")]
    assert (await client.get("/api/v1/deliveries/999999", headers=auth)).status_code == 404
    await sign_in_browser(client, link.tenant.admin.email)
    page = await client.get("/export-log", params={"since": "yesterday"})
    assert page.status_code == 200
    assert "Filter since" in page.text


async def test_the_log_names_synced_projects(procore_env: ProcoreEnv) -> None:
    from fieldbridge.sites.models import Project

    link, good, _ = await _log_with_one_rejected(procore_env)
    async with procore_env.db.transaction() as session:
        session.add(
            Project(
                company_id=link.tenant.company.id,
                connection_id=link.connection_id,
                external_id=str(link.projects[0]),
                name="Riverside Clinic",
            )
        )
    await sign_in_browser(procore_env.client, link.tenant.support.email)
    page = await procore_env.client.get("/export-log")
    assert f'<option value="{link.projects[0]}" >Riverside Clinic</option>' in page.text
    whats = [cell.split("</td>")[0] for cell in page.text.split('class="what"')[1:]]
    assert any("Riverside Clinic · Wed 25 Nov · 8 h" in what for what in whats), whats
    detail = await procore_env.client.get(f"/export-log/{good}")
    assert f"Riverside Clinic ({link.projects[0]})" in detail.text
