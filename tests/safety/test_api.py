"""The safety API: review workflow and audit trail, cursor pagination with updated_since, and
clear 4xx answers for bad sites, zones, shifts and device assignments."""

from datetime import UTC, datetime, timedelta

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import create_tenant
from tests.safety.helpers import event, make_site, project


async def test_review_moves_along_the_workflow_with_an_audit_trail(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    detection = (await client.post("/api/v1/detections", json=event(site, 1), headers=site.edge)).json()
    url = f"/api/v1/detections/{detection['id']}/review"
    r = await client.post(url, json={"to": "resolved", "note": "fixed"}, headers=site.auth)
    assert r.status_code == 409
    assert r.json()["error"]["details"]["allowed"] == ["acknowledged", "confirmed", "false_positive"]
    r = await client.post(url, json={"to": "false_positive"}, headers=site.auth)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "note"
    assert (await client.post(url, json={"to": "acknowledged"}, headers=site.auth)).status_code == 200
    r = await client.post(url, json={"to": "acknowledged"}, headers=site.auth)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "same_state"
    r = await client.post(url, json={"to": "false_positive", "note": "A mannequin"}, headers=site.auth)
    assert r.status_code == 200
    r = await client.post(url, json={"to": "new", "note": "It moved"}, headers=site.auth)
    assert r.status_code == 200
    trail = (await client.get(f"/api/v1/detections/{detection['id']}", headers=site.auth)).json()
    assert trail["state"] == "new"
    assert [(x["from_state"], x["to_state"], x["note"]) for x in trail["reviews"]] == [
        ("new", "acknowledged", None),
        ("acknowledged", "false_positive", "A mannequin"),
        ("false_positive", "new", "It moved"),
    ]
    assert all(x["actor"] == "API key all" for x in trail["reviews"])
    assert (await client.post(url, json={"to": "acknowledged"}, headers=site.edge)).status_code == 403


async def test_lists_page_by_cursor_and_poll_by_updated_since(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    events = [event(site, f"p{i}") for i in range(7)]
    assert (await client.post("/api/v1/detections/batch", json={"events": events}, headers=site.edge)).json()[
        "created"
    ] == 7
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/detections", params=params, headers=site.auth)).json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert len(seen) == 7
    assert len(set(seen)) == 7
    # Nothing new: the same cursor comes back, so a poller keeps its place.
    idle = (await client.get("/api/v1/detections", params={"cursor": cursor}, headers=site.auth)).json()
    assert (idle["items"], idle["next_cursor"], idle["has_more"]) == ([], cursor, False)
    # A review changes a row: the next poll from the cursor returns just that row.
    await client.post(f"/api/v1/detections/{seen[2]}/review", json={"to": "acknowledged"}, headers=site.auth)
    changed = (await client.get("/api/v1/detections", params={"cursor": cursor}, headers=site.auth)).json()
    assert [d["id"] for d in changed["items"]] == [seen[2]]
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    r = await client.get("/api/v1/detections", params={"updated_since": later}, headers=site.auth)
    assert r.json()["items"] == []
    r = await client.get("/api/v1/detections", params={"cursor": "not-a-cursor"}, headers=site.auth)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "cursor"
    r = await client.get(
        "/api/v1/detections", params={"updated_since": "2026-01-01T00:00:00"}, headers=site.auth
    )
    assert r.status_code == 422  # an instant needs its offset


async def test_bad_setup_input_gets_clear_answers(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    other = await create_tenant(db, settings, "Elsewhere")
    their_project = await project(db, other.company.id)
    auth = site.auth
    r = await client.post(
        "/api/v1/safety/sites", json={"project_id": their_project, "name": "X"}, headers=auth
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "project_id"
    r = await client.post(
        "/api/v1/safety/sites", json={"project_id": site.project_id, "name": "Again"}, headers=auth
    )
    assert r.status_code == 409
    r = await client.post(
        "/api/v1/safety/sites",
        json={"project_id": site.project_id, "name": "X", "time_zone": "Mars/Olympus"},
        headers=auth,
    )
    assert r.status_code == 422
    assert "IANA" in r.text
    zones = f"/api/v1/safety/sites/{site.site_id}/zones"
    r = await client.post(zones, json={"name": "Deck", "type": "hazard"}, headers=auth)
    assert r.status_code == 409
    r = await client.post(zones, json={"name": "Roof", "type": "ppe_required"}, headers=auth)
    assert r.status_code == 422
    r = await client.post(zones, json={"name": "Roof", "type": "hazard", "ppe_start": "06:00"}, headers=auth)
    assert r.status_code == 422
    shifts = f"/api/v1/safety/sites/{site.site_id}/shifts"
    r = await client.post(
        shifts, json={"name": "Zero", "start_time": "06:00", "end_time": "06:00"}, headers=auth
    )
    assert r.status_code == 422
    r = await client.post(
        shifts, json={"name": "Bad", "start_time": "25:00", "end_time": "06:00"}, headers=auth
    )
    assert r.status_code == 422
    r = await client.post(
        shifts, json={"name": "Days", "start_time": "06:00", "end_time": "14:00", "days": [0]}, headers=auth
    )
    assert r.status_code == 422
    devices = "/api/v1/safety/worker-devices"
    assign = {
        "project_id": site.project_id,
        "worker_id": other.worker.id,
        "device_id": "B-1",
        "kind": "badge",
    }
    r = await client.post(devices, json=assign, headers=auth)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "worker_id"
    start = datetime.now(UTC) - timedelta(days=1)
    mine = {**assign, "worker_id": site.tenant.worker.id, "valid_from": start.isoformat()}
    first = await client.post(devices, json=mine, headers=auth)
    assert first.status_code == 201
    earlier = {**mine, "valid_from": (start - timedelta(hours=1)).isoformat()}
    r = await client.post(devices, json=earlier, headers=auth)
    assert r.status_code == 409  # history is not rewritten
    r = await client.post(
        f"{devices}/{first.json()['id']}/end",
        json={"valid_to": (start - timedelta(hours=2)).isoformat()},
        headers=auth,
    )
    assert r.status_code == 422
    r = await client.post(f"{devices}/{first.json()['id']}/end", json={}, headers=auth)
    assert r.status_code == 200
    assert r.json()["valid_to"] is not None


async def test_single_event_errors_name_the_field(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    r = await client.post("/api/v1/detections", json=event(site, 1, zone_id=999_999), headers=site.edge)
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [
        {"field": "zone_id", "problem": f"no such zone on site {site.site_id}"}
    ]
    r = await client.post("/api/v1/detections", json=event(site, 2, priority=9), headers=site.edge)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "body.priority"
    r = await client.post(
        "/api/v1/detections",
        json=event(site, 3, evidence=[{"kind": "clip", "url": "data:video/mp4;base64,AAAA"}]),
        headers=site.edge,
    )
    assert r.status_code == 422  # references only, never the video itself
    r = await client.post("/api/v1/detections/batch", json={"events": "many"}, headers=site.edge)
    assert r.status_code == 422


async def test_observations_are_ingested_per_row(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    now = datetime.now(UTC).isoformat()
    rows = [
        {
            "event_id": "o1",
            "site_id": site.site_id,
            "zone_id": site.zones["Deck"],
            "observed_at": now,
            "persons": 4,
        },
        {
            "event_id": "o1",
            "site_id": site.site_id,
            "zone_id": site.zones["Deck"],
            "observed_at": now,
            "persons": 4,
        },
        {
            "event_id": "o2",
            "site_id": site.site_id,
            "zone_id": site.zones["Deck"],
            "observed_at": now,
            "persons": 0,
        },
        {
            "event_id": "o3",
            "site_id": site.site_id + 50,
            "zone_id": site.zones["Deck"],
            "observed_at": now,
            "persons": 1,
        },
    ]
    out = (
        await client.post("/api/v1/safety/observations/batch", json={"observations": rows}, headers=site.edge)
    ).json()
    assert [r["status"] for r in out["results"]] == ["created", "duplicate", "error", "error"]
    assert out["results"][2]["errors"][0]["field"] == "observations[2].persons"
    assert out["results"][3]["errors"][0]["field"] == "observations[3].site_id"
