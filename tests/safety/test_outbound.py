"""Observations out: the link's threshold and push-all, folding of repeats (one create with a
count, then updates coalesced while they wait), and the Procore priority mapping."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from fieldbridge.connectors.procore.observations import priority_of
from fieldbridge.delivery.models import Delivery
from fieldbridge.kit.db import Database
from fieldbridge.safety import outbound
from fieldbridge.settings import Settings
from tests.factories import create_tenant
from tests.safety.outbound_helpers import deliveries, detection, ingest_rows, linked_site

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


async def test_threshold_and_types(db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    site = await linked_site(db, tenant.company.id)
    await ingest_rows(
        db,
        tenant.company.id,
        [
            detection(site, priority=2),  # below the default threshold (3)
            detection(site, type="fall", priority=5),  # not an observation kind
            detection(site, zone="Crane swing", priority=3),
            detection(site, type="ppe_violation", missing_items=["hard_hat"], priority=5, worker=None),
        ],
    )
    rows = await deliveries(db)
    assert [(r.payload["type"], r.payload["priority"]) for r in rows] == [
        ("zone_breach", 3),
        ("ppe_violation", 5),
    ]
    first = rows[0]
    assert first.subject == f"observation:{first.payload['detection_ids'][0]}"
    assert first.idempotency_key == f"{first.subject}:v1"
    assert first.remote_project_id == "7001"
    assert first.payload["zone"] == "Crane swing"
    assert first.payload["frame_ref"] == "https://edge.example.com/f/9.jpg"
    assert first.payload["link"].endswith(f"/safety/detections/{first.payload['detection_ids'][0]}")
    assert "Crane swing" in first.payload["description"]
    assert "zone breach" in first.payload["description"]


async def test_push_all_and_raised_threshold(db: Database, settings: Settings) -> None:
    tenant = await create_tenant(db, settings)
    everything = await linked_site(db, tenant.company.id, push_all=True)
    strict = await linked_site(db, tenant.company.id, remote_project_id="7002", observation_threshold=5)
    await ingest_rows(
        db, tenant.company.id, [detection(everything, priority=1), detection(strict, priority=4)]
    )
    assert [r.payload["priority"] for r in await deliveries(db)] == [1]


async def test_folding_counts_and_coalesces(db: Database, settings: Settings) -> None:
    """Times are the detections' own (a frozen clock for the fold window)."""
    tenant = await create_tenant(db, settings)
    site = await linked_site(db, tenant.company.id, fold_window_s=600)
    burst = [detection(site, at=T0 + timedelta(seconds=30 * k)) for k in range(3)]
    await ingest_rows(db, tenant.company.id, burst)
    (create,) = await deliveries(db)
    assert create.payload["count"] == 3
    assert create.idempotency_key.endswith(":v3")

    await ingest_rows(db, tenant.company.id, [detection(site, at=T0 + timedelta(seconds=100))])
    (create,) = await deliveries(db)  # still waiting: rewritten, not a second row
    assert create.payload["count"] == 4

    async with db.transaction() as session:  # a runner took it
        await session.execute(update(Delivery).where(Delivery.id == create.id).values(status="running"))
    await ingest_rows(db, tenant.company.id, [detection(site, at=T0 + timedelta(seconds=200))])
    await ingest_rows(db, tenant.company.id, [detection(site, at=T0 + timedelta(seconds=300))])
    rows = await deliveries(db)
    assert [(r.subject, r.payload["count"]) for r in rows] == [(create.subject, 4), (create.subject, 6)]
    assert rows[1].idempotency_key == f"{create.subject}:v6"
    # the update waits a minute for more repeats; the create went at once
    assert rows[1].next_attempt_at - rows[1].created_at > outbound.UPDATE_DELAY - timedelta(seconds=1)

    # another zone, another worker, or past the window: new observations
    await ingest_rows(
        db,
        tenant.company.id,
        [
            detection(site, zone="Crane swing", at=T0 + timedelta(seconds=310)),
            detection(site, at=T0 + timedelta(seconds=650)),
        ],
    )
    rows = await deliveries(db)
    assert len({r.subject for r in rows}) == 3
    assert [r.payload["count"] for r in rows[2:]] == [1, 1]


def test_priority_mapping() -> None:
    assert [priority_of({"priority": p}) for p in range(1, 6)] == ["Low", "Low", "Medium", "High", "Urgent"]
    mapped = {"priority": 2, "mapped": {"priority": {"remote_value": "High", "remote_label": "High"}}}
    assert priority_of(mapped) == "High"
    assert priority_of({"priority": 4, "mapped": {"priority": None}}) == "High"


async def test_concurrent_batches_fold_into_one_observation(db: Database, settings: Settings) -> None:
    """Two ingest transactions of one site at once (two camera gateways): the link's row lock
    makes the second fold into the first's observation (PostgreSQL, or SQLite's one writer)."""
    tenant = await create_tenant(db, settings)
    site = await linked_site(db, tenant.company.id)
    other = Database(settings.database_url)
    try:
        await asyncio.gather(
            ingest_rows(db, tenant.company.id, [detection(site, at=T0)]),
            ingest_rows(other, tenant.company.id, [detection(site, at=T0 + timedelta(seconds=1))]),
        )
    finally:
        await other.dispose()
    (row,) = await deliveries(db)
    assert row.payload["count"] == 2


async def test_a_detection_committed_after_a_later_one_joins_its_observation(
    db: Database, settings: Settings
) -> None:
    """Batches commit out of order (the later detection's gateway first): the earlier detection,
    within the fold window of the observation, joins it instead of opening a second one."""
    tenant = await create_tenant(db, settings)
    site = await linked_site(db, tenant.company.id)
    await ingest_rows(db, tenant.company.id, [detection(site, at=T0 + timedelta(seconds=30))])
    await ingest_rows(db, tenant.company.id, [detection(site, at=T0)])
    (row,) = await deliveries(db)
    assert row.payload["count"] == 2
