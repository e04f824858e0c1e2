"""Confirming an injury event through safety's review creates its incident draft, once."""

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.incidents.helpers import create_site


async def _detection(
    client: httpx.AsyncClient, key: str, site_id: int, zone_id: int, kind: str, n: int
) -> int:
    body = {
        "event_id": f"evt-{kind}-{n}",
        "site_id": site_id,
        "zone_id": zone_id,
        "type": kind,
        "source": "wearable",
        "occurred_at": "2026-10-05T14:20:00-06:00",
        "description": "Fall detected by the belt clip" if kind == "fall" else None,
        **({"missing_items": ["hard_hat"]} if kind == "ppe_violation" else {}),
    }
    response = await client.post("/api/v1/detections", json=body, headers=bearer(key))
    assert response.status_code in (200, 201), response.text
    return int(response.json()["id"])


async def test_confirming_a_fall_creates_one_linked_draft(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    fall = await _detection(client, t.api_key, site.id, site.zone_id, "fall", 1)
    ppe = await _detection(client, t.api_key, site.id, site.zone_id, "ppe_violation", 2)
    for detection in (fall, ppe):
        confirmed = await client.post(
            f"/api/v1/detections/{detection}/review", json={"to": "confirmed"}, headers=bearer(t.api_key)
        )
        assert confirmed.status_code == 200, confirmed.text

    listed = (await client.get("/api/v1/incidents", headers=bearer(t.api_key))).json()["items"]
    assert [i["detection_id"] for i in listed] == [fall]
    draft = listed[0]
    assert draft["recordable"] is False
    assert draft["case_number"] is None
    assert draft["location"] == "East stair"
    assert draft["zone_id"] == site.zone_id
    assert draft["occurred_on"] == "2026-10-05"
    assert draft["description"] == "Fall detected by the belt clip"
    assert draft["created_by"] == "api key all"

    # Recording the outcome makes it case 1 of the site's 2026 log.
    recorded = await client.patch(
        f"/api/v1/incidents/{draft['id']}",
        json={"treatment": "medical_treatment", "nature": "sprain", "body_part": "ankle"},
        headers=bearer(t.api_key),
    )
    assert recorded.json()["case_number"] == 1

    # A second incident for the same detection is refused.
    again = await client.post(
        "/api/v1/incidents",
        json={"site_id": site.id, "detection_id": fall, "occurred_on": "2026-10-05", "time_unknown": True},
        headers=bearer(t.api_key),
    )
    assert again.status_code == 409
