"""People matching that a name or email contradicts is a conflict, not a link; the demo's
workers are each matched to their own Procore person."""

import socket

from sqlalchemy import select

from fieldbridge.accounts.models import Worker
from fieldbridge.demo import crew as clock_demo
from fieldbridge.demo.company import DEMO_COMPANY_CODE, seed_demo
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from fieldbridge.sites.models import ProcorePerson
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.procore_fixtures import ProcoreEnv


async def test_an_employee_id_match_whose_name_and_email_disagree_waits_for_an_admin(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    # The old demo data: Maria Lopez carried E1001, which Procore gives to Alex Carter.
    body = {"name": "Maria Lopez", "employee_id": "E1001", "email": "maria.lopez@demo-builders.com"}
    maria = (await procore_env.client.post("/api/v1/workers", json=body, headers=auth)).json()["id"]
    await procore_env.track(tenant, 1)
    people = (
        await procore_env.client.get("/api/v1/procore-people", params={"per_page": 100}, headers=auth)
    ).json()["items"]
    by_name = {p["name"]: p for p in people}
    alex = by_name["Alex Carter"]
    assert (alex["worker_id"], alex["match_method"], alex["suggested_worker_id"]) == (None, None, maria)
    assert "names differ (Alex Carter in Procore)" in alex["conflict"]
    assert "emails differ" in alex["conflict"]
    assert (by_name["Maria Lopez"]["worker_id"], by_name["Maria Lopez"]["match_method"]) == (maria, "email")
    assert people[0]["name"] == "Alex Carter", "conflicts are listed first"

    # The people page shows it first with a one-click confirm.
    csrf = await sign_in_browser(procore_env.client, tenant.admin.email)
    people_url = f"/settings/integrations/procore/{alex['connection_id']}/people"
    page = await procore_env.client.get(people_url)
    assert "1 possible match to check" in page.text
    assert page.text.index("Alex Carter") < page.text.index("Aisha Khan")
    assert f'name="worker_id" value="{maria}"' in page.text
    assert "Confirm Maria Lopez" in page.text
    confirmed = await procore_env.client.post(
        people_url, data={"csrf_token": csrf, "person": alex["id"], "worker_id": maria}
    )
    assert confirmed.status_code == 303
    linked = await procore_env.client.get("/api/v1/procore-people?q=Alex+Carter", headers=auth)
    assert (linked.json()["items"][0]["worker_id"], linked.json()["items"][0]["conflict"]) == (maria, None)

    # Choosing nobody resolves it too: the conflict stays gone after the next sync.
    chosen = await procore_env.client.patch(
        f"/api/v1/procore-people/{alex['id']}", json={"worker_id": None}, headers=auth
    )
    assert (chosen.json()["conflict"], chosen.json()["suggested_worker_id"]) == (None, None)
    await procore_env.client.post(f"/api/v1/connections/{alex['connection_id']}/sync", headers=auth)
    again = await procore_env.client.get("/api/v1/procore-people", params={"q": "Alex Carter"}, headers=auth)
    assert again.json()["items"][0]["conflict"] is None


async def test_an_automatic_link_that_a_name_now_contradicts_becomes_a_conflict(
    procore_env: ProcoreEnv, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings)
    auth = bearer(tenant.api_key)
    body = {"name": "M. Gonzalez", "employee_id": "E1002"}
    worker = (await procore_env.client.post("/api/v1/workers", json=body, headers=auth)).json()["id"]
    connection_id, _ = await procore_env.track(tenant, 1)
    found = await procore_env.client.get("/api/v1/procore-people", params={"q": "Gonzalez"}, headers=auth)
    assert (found.json()["items"][0]["worker_id"], found.json()["items"][0]["match_method"]) == (
        worker,
        "employee_id",
    )
    renamed = await procore_env.client.patch(
        f"/api/v1/workers/{worker}", json={"name": "Rosa Silva"}, headers=auth
    )
    assert renamed.status_code == 200, renamed.text
    await procore_env.client.post(f"/api/v1/connections/{connection_id}/sync", headers=auth)
    person = (
        await procore_env.client.get("/api/v1/procore-people", params={"q": "Gonzalez"}, headers=auth)
    ).json()["items"][0]
    assert (person["worker_id"], person["suggested_worker_id"]) == (None, worker)
    confirmed = await procore_env.client.patch(
        f"/api/v1/procore-people/{person['id']}", json={"worker_id": worker}, headers=auth
    )
    assert (confirmed.json()["worker_id"], confirmed.json()["match_method"]) == (worker, "manual")
    assert confirmed.json()["conflict"] is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_fieldbridge_demo_links_every_demo_worker_to_their_own_procore_person(
    db: Database, settings: Settings
) -> None:
    async with db.transaction() as session:
        await seed_demo(session, settings)
    url = clock_demo.start_sandbox(_free_port())  # the demo's own sandbox, over real HTTP
    await clock_demo.wire(settings, url, DEMO_COMPANY_CODE)
    async with db.transaction() as session:
        workers = list(await session.scalars(select(Worker).order_by(Worker.id)))
        people = {p.worker_id: p for p in await session.scalars(select(ProcorePerson))}
        conflicts = [p.name for p in people.values() if p.conflict]
    assert len(workers) == 6
    for worker in workers:
        person = people.get(worker.id)
        assert person is not None, f"{worker.name} is not linked"
        assert (person.name, person.email, person.employee_id) == (
            worker.name,
            worker.email,
            worker.employee_id,
        )
    assert conflicts == []
