"""The admin pages: a site with zones, shifts and a device; the review queue and a detection's
audit trail; the daily summary with its charts linking to the events."""

import re

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.safety.helpers import edge_key, event, make_site, project


async def test_an_admin_sets_up_a_site_reviews_and_reads_the_summary(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    tenant = await create_tenant(db, settings, "Web")
    project_id = await project(db, tenant.company.id, "America/Denver", name="Plaza")
    csrf = await sign_in_browser(client, tenant.admin.email)
    page = await client.get("/safety")
    assert page.status_code == 200
    assert "Plaza" in page.text
    r = await client.post(
        "/safety/sites", data={"csrf_token": csrf, "project_id": str(project_id), "name": "Plaza site"}
    )
    assert r.status_code == 303, r.text
    site_url = r.headers["location"]
    site_id = int(site_url.rsplit("/", 1)[1])
    bad = await client.post(
        f"{site_url}/zones",
        data={"csrf_token": csrf, "name": "Deck", "type": "ppe_required", "required_ppe": ""},
    )
    assert bad.status_code == 422
    assert "at least one required_ppe item" in bad.text
    for path, data in (
        ("zones", {"name": "Deck", "type": "ppe_required", "required_ppe": "Hard hat, hi-vis vest"}),
        ("shifts", {"name": "Day", "start_time": "06:00", "end_time": "14:30", "day1": "on", "day2": "on"}),
        (
            "devices",
            {
                "device_id": "WB-7",
                "kind": "wearable",
                "worker_id": str(tenant.worker.id),
                "valid_from": "2026-11-29T06:00",
            },
        ),
    ):
        r = await client.post(f"{site_url}/{path}", data={"csrf_token": csrf, **data})
        assert r.status_code == 303, (path, r.text)
    page = (await client.get(site_url)).text
    assert "hard_hat, hi_vis_vest" in page
    assert "WB-7" in page
    assert "2026-11-29 06:00 MST" in page
    assert "Mon Tue" in page
    zone_id = int(re.search(r"/safety/zones/(\d+)/active", page).group(1))  # type: ignore[union-attr]

    edge = bearer(await edge_key(db, tenant.company.id))
    body = {
        "event_id": "web-1",
        "site_id": site_id,
        "zone_id": zone_id,
        "type": "fall",
        "source": "wearable",
        "device_id": "WB-7",
        "priority": 5,
        "occurred_at": "2026-11-30T10:15:00-07:00",
    }
    r = await client.post("/api/v1/detections", json=body, headers=edge)
    assert r.status_code == 201, r.text
    detection_id = r.json()["id"]
    assert r.json()["worker_id"] == tenant.worker.id  # WB-7 was theirs since 06:00 on the 29th, Denver time

    queue = await client.get("/safety/review")
    assert "fall" in queue.text
    assert tenant.worker.name in queue.text
    r = await client.post(
        f"/safety/detections/{detection_id}/review",
        data={"csrf_token": csrf, "to": "false_positive", "note": "", "back": "/safety/review"},
    )
    assert r.status_code == 422
    assert "say why" in r.text
    for to, note in (("acknowledged", ""), ("confirmed", "Slipped on the ramp")):
        r = await client.post(
            f"/safety/detections/{detection_id}/review",
            data={"csrf_token": csrf, "to": to, "note": note, "back": "/safety/review"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/safety/review"
    detail = (await client.get(f"/safety/detections/{detection_id}")).text
    assert "new → <strong>acknowledged</strong>" in detail
    assert "acknowledged → <strong>confirmed</strong>" in detail
    assert "Slipped on the ramp" in detail
    assert "Web Admin" in detail  # who

    r = await client.post(f"/safety/sites/{site_id}/summary", data={"csrf_token": csrf, "day": "2026-11-30"})
    assert r.status_code == 303
    page = (await client.get(f"/safety/sites/{site_id}/summary?day=2026-11-30")).text
    assert "Snapshot version 1" in page
    assert "<svg" in page
    assert "Alerts by type per day" in page
    assert "PPE compliance by shift" in page
    drill = re.search(r'<a href="(/safety/review\?[^"]*type=fall[^"]*)"><rect', page)
    assert drill is not None
    listed = await client.get(drill.group(1).replace("&amp;", "&"))
    assert f"/safety/detections/{detection_id}" in listed.text


async def test_support_reads_but_cannot_review(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    r = await client.post("/api/v1/detections", json=event(site, 1), headers=site.edge)
    detection_id = r.json()["id"]
    csrf = await sign_in_browser(client, site.tenant.support.email)
    assert (await client.get("/safety/review")).status_code == 200
    r = await client.post(
        f"/safety/detections/{detection_id}/review", data={"csrf_token": csrf, "to": "acknowledged"}
    )
    assert r.status_code == 403
