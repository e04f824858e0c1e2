"""Detection ingest: one and batch, replays, per-row errors, attribution by device, scopes."""

from datetime import UTC, datetime, timedelta

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.safety.helpers import event, make_site


async def test_one_event_is_stored_and_a_resend_is_harmless(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings)
    body = event(site, 1, occurred_at="2026-11-30T07:03:22-07:00")
    first = await client.post("/api/v1/detections", json=body, headers=site.edge)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["status"] == "created"
    assert created["occurred_at"].startswith("2026-11-30T14:03:22")  # stored as UTC
    assert created["state"] == "new"
    again = await client.post("/api/v1/detections", json=body, headers=site.edge)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["id"] == created["id"]
    listed = await client.get("/api/v1/detections", headers=site.auth)
    assert [d["id"] for d in listed.json()["items"]] == [created["id"]]


async def test_batch_stores_good_rows_and_answers_each_bad_one(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings)
    other = await create_tenant(db, settings, "Other")
    now = datetime.now(UTC)
    events = [
        event(site, "ok-1"),
        event(site, "bad-priority", priority="high"),
        event(site, "bad-site", site_id=site.site_id + 999),
        event(site, "ok-2", type="zone_breach", missing_items=[], zone_id=site.zones["Crane swing"]),
        event(site, "ok-1"),  # the same id twice in one batch: a replay
        event(site, "future", occurred_at=(now + timedelta(hours=2)).isoformat()),
        event(site, "ancient", occurred_at="2019-01-01T00:00:00Z"),
        event(site, "other-worker", worker_id=other.worker.id),
        event(site, "naive", occurred_at="2026-11-30T07:03:22"),
        event(site, "no-items", missing_items=[]),
        event(site, "bad-zone", zone_id=site.zones["Deck"] + 10_000),
        {"event_id": "x", "surprise": 1},
    ]
    r = await client.post("/api/v1/detections/batch", json={"events": events}, headers=site.edge)
    assert r.status_code == 200, r.text
    out = r.json()
    status = [row["status"] for row in out["results"]]
    assert status == ["created", "error", "error", "created", "duplicate"] + ["error"] * 7
    assert (out["created"], out["duplicates"], out["errors"]) == (2, 1, 9)
    fields = {row["index"]: [e["field"] for e in row["errors"]] for row in out["results"] if row["errors"]}
    assert fields[1] == ["events[1].priority"]
    assert fields[2] == ["events[2].site_id"]
    assert fields[5] == ["events[5].occurred_at"]
    assert fields[6] == ["events[6].occurred_at"]
    assert fields[7] == ["events[7].worker_id"]
    assert fields[8] == ["events[8].occurred_at"]
    assert fields[10] == ["events[10].zone_id"]
    assert out["results"][4]["id"] == out["results"][0]["id"]
    # Sending the whole batch again stores nothing new and loses nothing.
    again = (await client.post("/api/v1/detections/batch", json={"events": events}, headers=site.edge)).json()
    assert (again["created"], again["duplicates"], again["errors"]) == (0, 3, 9)
    listed = (await client.get("/api/v1/detections", headers=site.auth)).json()["items"]
    assert sorted(d["event_id"] for d in listed) == ["evt-ok-1", "evt-ok-2"]


async def test_oversize_batch_is_refused_whole(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    events = [event(site, f"n{i}", evidence=[]) for i in range(1001)]
    r = await client.post("/api/v1/detections/batch", json={"events": events}, headers=site.edge)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "batch_too_large"
    assert (await client.get("/api/v1/detections", headers=site.auth)).json()["items"] == []


async def test_device_names_the_worker_who_held_it_then(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    other = await client.post(
        "/api/v1/workers",
        json={"name": "Second Worker", "title": "Operator", "trade": "Crane"},
        headers=site.auth,
    )
    assert other.status_code == 201, other.text
    second = other.json()["id"]
    first = site.tenant.worker.id
    t0 = datetime.now(UTC) - timedelta(days=2)
    r = await client.post(
        "/api/v1/safety/worker-devices",
        json={
            "project_id": site.project_id,
            "worker_id": first,
            "device_id": "WB-1",
            "kind": "wearable",
            "valid_from": t0.isoformat(),
        },
        headers=site.auth,
    )
    assert r.status_code == 201, r.text
    handover = t0 + timedelta(days=1)
    r = await client.post(
        "/api/v1/safety/worker-devices",
        json={
            "project_id": site.project_id,
            "worker_id": second,
            "device_id": "WB-1",
            "kind": "wearable",
            "valid_from": handover.isoformat(),
        },
        headers=site.auth,
    )
    assert r.status_code == 201, r.text
    history = (await client.get("/api/v1/safety/worker-devices?device_id=WB-1", headers=site.auth)).json()[
        "items"
    ]
    assert [(h["worker_id"], h["valid_to"] is None) for h in history] == [(first, False), (second, True)]
    events = [
        event(
            site,
            "before",
            type="fall",
            missing_items=[],
            source="wearable",
            device_id="WB-1",
            occurred_at=(handover - timedelta(hours=1)).isoformat(),
        ),
        event(
            site,
            "after",
            type="fall",
            missing_items=[],
            source="wearable",
            device_id="WB-1",
            occurred_at=(handover + timedelta(hours=1)).isoformat(),
        ),
        event(site, "unknown", type="fall", missing_items=[], source="wearable", device_id="WB-9"),
    ]
    out = (await client.post("/api/v1/detections/batch", json={"events": events}, headers=site.edge)).json()
    assert out["created"] == 3, out
    by_event = {
        d["event_id"]: d["worker_id"]
        for d in (await client.get("/api/v1/detections", headers=site.auth)).json()["items"]
    }
    assert by_event == {"evt-before": first, "evt-after": second, "evt-unknown": None}


async def test_scopes_keep_edge_keys_to_posting(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    assert (await client.get("/api/v1/detections", headers=site.edge)).status_code == 403
    assert (await client.post("/api/v1/safety/sites", json={}, headers=site.edge)).status_code in (403, 422)
    r = await client.post("/api/v1/detections", json=event(site, 1), headers=bearer(site.tenant.api_key))
    assert r.status_code == 201  # admin keys hold every scope


async def test_a_batch_body_that_is_not_a_batch_says_why(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    headers = {**site.edge, "content-type": "application/json"}
    r = await client.post("/api/v1/detections/batch", content=b'{"events": [', headers=headers)
    assert r.status_code == 400
    r = await client.post("/api/v1/detections/batch", content=b"[1, 2]", headers=headers)
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "body.events"
    spec = (await client.get("/api/openapi.json")).json()
    body = spec["paths"]["/api/v1/detections/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["properties"]["events"]["items"] == {"$ref": "#/components/schemas/DetectionIn"}
