"""The demo's safety site and the detection simulator, through the public API."""

import httpx
from fastapi import FastAPI

from fieldbridge.demo.detections import run
from fieldbridge.demo.safety import seed_site
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.safety.helpers import project


async def test_demo_site_and_simulator(
    app: FastAPI, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings, "Demo")
    await project(db, tenant.company.id, "America/Chicago", name="Riverside")
    site = await seed_site(settings, tenant.company.code)
    assert site.site_id is not None
    assert site.api_key is not None
    admin = bearer(tenant.api_key)
    zones = (await client.get("/api/v1/safety/zones", params={"site_id": site.site_id}, headers=admin)).json()
    assert {z["type"] for z in zones["items"]} == {"ppe_required", "restricted", "hazard"}
    seeded = (await client.get("/api/v1/detections", params={"limit": 1000}, headers=admin)).json()["items"]
    assert len(seeded) > 20
    assert any(d["worker_id"] for d in seeded if d["type"] == "zone_breach")  # wearables name their holder
    summaries = (await client.get(f"/api/v1/safety/sites/{site.site_id}/summaries", headers=admin)).json()
    assert len(summaries) == 3
    assert all(s["data"]["ppe"]["overall"]["opportunities"] > 0 for s in summaries)
    again = await seed_site(settings, tenant.company.code)
    assert again.site_id == site.site_id  # a second demo run keeps the site

    totals = await run(
        "http://fieldbridge.test",
        site.api_key,
        site.site_id,
        rate=15,
        seconds=2,
        seed=1,
        transport=httpx.ASGITransport(app),
    )
    assert totals["errors"] == 0
    assert totals["sent"] >= 15
    assert totals["created"] == totals["sent"]
    assert totals["observations"] >= 2
