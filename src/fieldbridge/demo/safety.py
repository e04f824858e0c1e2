"""The demo's safety site: the first synced project becomes a site with zones, shifts, a
wearable per crew member and a day of detections and observations (through the same ingest
as the API), plus an API key for `fieldbridge simulate detections`."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from fieldbridge.accounts import service as accounts
from fieldbridge.accounts.models import Company, Worker
from fieldbridge.accounts.schemas import ApiKeyIn
from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Database
from fieldbridge.safety import ingest, summary
from fieldbridge.safety.models import DeviceKind, SafetyShift, SafetySite, SafetyZone, WorkerDevice, ZoneType
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project

ZONES: list[dict[str, Any]] = [
    {"name": "Level 3 deck", "type": ZoneType.ppe_required, "required_ppe": ["hard_hat", "hi_vis_vest"]},
    {
        "name": "Rebar yard",
        "type": ZoneType.ppe_required,
        "required_ppe": ["gloves", "hard_hat", "safety_glasses"],
    },
    {"name": "Crane swing radius", "type": ZoneType.restricted},
    {"name": "Excavation", "type": ZoneType.hazard},
]
SHIFTS = [("Day", time(6), time(14, 30)), ("Swing", time(14, 30), time(23)), ("Night", time(23), time(6))]


@dataclass
class DemoSite:
    site_id: int | None
    name: str
    api_key: str | None


def _events(
    site: SafetySite,
    zones: list[SafetyZone],
    devices: list[str],
    since: datetime,
    until: datetime,
    rng: random.Random,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Realistic-looking events and observations between two instants."""
    events: list[dict[str, Any]] = []
    observations: list[dict[str, Any]] = []
    ppe = [z for z in zones if z.type == ZoneType.ppe_required]
    restricted = [z for z in zones if z.type != ZoneType.ppe_required]
    at = since
    n = 0
    while at < until:
        n += 1
        for z in ppe:
            observations.append(
                {
                    "event_id": f"demo-obs-{z.id}-{at:%Y%m%d%H%M}",
                    "site_id": site.id,
                    "zone_id": z.id,
                    "observed_at": at.isoformat(),
                    "persons": rng.randint(4, 12),
                    "source_ref": f"cam-{z.id}",
                }
            )
            for k in range(rng.choice((0, 0, 0, 1, 1, 2))):
                missing = sorted(rng.sample(z.required_ppe, rng.choice((1, 1, 1, 2))))
                events.append(
                    {
                        "event_id": f"demo-{z.id}-{at:%Y%m%d%H%M}-{k}",
                        "site_id": site.id,
                        "zone_id": z.id,
                        "type": "ppe_violation",
                        "missing_items": missing,
                        "priority": 2 + len(missing),
                        "source": "camera",
                        "source_ref": f"cam-{z.id}",
                        "confidence": round(rng.uniform(0.7, 0.99), 2),
                        "occurred_at": (at + timedelta(minutes=rng.randint(0, 29))).isoformat(),
                        "evidence": [
                            {"kind": "frame", "url": f"https://edge.demo.invalid/frames/{n}-{k}.jpg"}
                        ],
                    }
                )
        if rng.random() < 0.3 and restricted:
            z = rng.choice(restricted)
            events.append(
                {
                    "event_id": f"demo-breach-{at:%Y%m%d%H%M}",
                    "site_id": site.id,
                    "zone_id": z.id,
                    "type": "zone_breach",
                    "priority": 4,
                    "source": "wearable",
                    "device_id": rng.choice(devices) if devices else None,
                    "occurred_at": (at + timedelta(minutes=rng.randint(0, 29))).isoformat(),
                }
            )
        if rng.random() < 0.05:
            events.append(
                {
                    "event_id": f"demo-near-{at:%Y%m%d%H%M}",
                    "site_id": site.id,
                    "zone_id": restricted[0].id if restricted else None,
                    "type": rng.choice(("near_miss", "proximity", "fall")),
                    "priority": 5,
                    "source": "wearable",
                    "device_id": rng.choice(devices) if devices else None,
                    "occurred_at": at.isoformat(),
                }
            )
        at += timedelta(minutes=30)
    return events, observations


async def seed_site(settings: Settings, company_code: str, seed: int = 7) -> DemoSite:
    """Idempotent: a second demo run finds the site and only makes a fresh simulator key."""
    db = Database(settings.database_url)
    try:
        async with db.transaction() as session:
            company = await session.scalar(select(Company).where(Company.code == company_code))
            assert company is not None, "seed the demo company first"
            project = await session.scalar(
                select(Project)
                .where(Project.company_id == company.id, Project.sync_enabled.is_(True))
                .order_by(Project.name)
                .limit(1)
            )
            if project is None:
                return DemoSite(None, "", None)
            _, key = await accounts.create_api_key(
                session,
                company.id,
                ApiKeyIn(name="detection simulator", scopes=["detections:write", "safety:read"]),
            )
            site = await session.scalar(select(SafetySite).where(SafetySite.project_id == project.id))
            if site is not None:
                return DemoSite(site.id, site.name, key)
            site = SafetySite(
                company_id=company.id,
                project_id=project.id,
                name=f"{project.name} site",
                time_zone=(
                    project.time_zone if project.time_zone and "/" in project.time_zone else "America/Chicago"
                ),
                establishment_name=project.name[:100],
                city=project.city,
                naics_code="236220",
                annual_average_employees=85,
                total_hours_worked=170_000,
            )
            session.add(site)
            await session.flush()
            zones = [SafetyZone(company_id=company.id, site_id=site.id, **z) for z in ZONES]
            session.add_all(zones)
            session.add_all(
                SafetyShift(company_id=company.id, site_id=site.id, name=n, start_time=a, end_time=b)
                for n, a, b in SHIFTS
            )
            workers = (
                await session.scalars(select(Worker).where(Worker.company_id == company.id).limit(6))
            ).all()
            devices = []
            for n, worker in enumerate(workers):
                devices.append(f"WB-{100 + n}")
                session.add(
                    WorkerDevice(
                        company_id=company.id,
                        project_id=project.id,
                        worker_id=worker.id,
                        device_id=devices[-1],
                        kind=DeviceKind.wearable,
                        valid_from=utcnow() - timedelta(days=30),
                    )
                )
            await session.flush()
            rng = random.Random(seed)
            until = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=30)
            events, observations = _events(site, zones, devices, until - timedelta(days=3), until, rng)
            for start in range(0, len(events), ingest.MAX_BATCH):
                await ingest.ingest_detections(session, company.id, events[start : start + ingest.MAX_BATCH])
            for start in range(0, len(observations), ingest.MAX_BATCH):
                await ingest.ingest_observations(
                    session, company.id, observations[start : start + ingest.MAX_BATCH]
                )
            today = datetime.now(UTC).date()
            for k in (3, 2, 1):
                await summary.snapshot(session, site, today - timedelta(days=k))
            return DemoSite(site.id, site.name, key)
    finally:
        await db.dispose()
