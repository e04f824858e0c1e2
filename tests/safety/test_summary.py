"""Daily safety summaries: local-day bounds across DST (23- and 25-hour days), shifts that
cross midnight and the clock change, PPE compliance math, versions, and the 17:00 job."""

from datetime import UTC, date, datetime
from typing import Any

import httpx

from fieldbridge.jobs.registry import LocalRun, load_job_modules
from fieldbridge.kit.db import Database
from fieldbridge.safety.models import Detection, PpeObservation, ReviewState
from fieldbridge.settings import Settings
from fieldbridge.sites.models import Project
from tests.safety.helpers import Site, make_site

_n = iter(range(1, 1_000_000))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


async def add_events(db: Database, site: Site, rows: list[dict[str, Any]]) -> None:
    """Rows straight into the tables (the API refuses times more than a year old, and these
    tests pin their dates)."""
    async with db.transaction() as session:
        for row in rows:
            persons = row.pop("persons", None)
            zone = site.zones[row.pop("zone", "Deck")]
            if persons is not None:
                session.add(
                    PpeObservation(
                        company_id=site.tenant.company.id,
                        site_id=site.site_id,
                        zone_id=zone,
                        client_event_id=f"obs-{next(_n)}",
                        observed_at=row["at"],
                        persons=persons,
                    )
                )
                continue
            session.add(
                Detection(
                    company_id=site.tenant.company.id,
                    site_id=site.site_id,
                    zone_id=zone,
                    client_event_id=f"det-{next(_n)}",
                    type=row.get("type", "ppe_violation"),
                    missing_items=row.get("missing", ["hard_hat"] if row.get("type") is None else []),
                    priority=3,
                    source="camera",
                    occurred_at=row["at"],
                    evidence=[],
                    state=row.get("state", ReviewState.new),
                )
            )


async def summarize(client: httpx.AsyncClient, site: Site, day: str) -> dict[str, Any]:
    r = await client.post(
        f"/api/v1/safety/sites/{site.site_id}/summaries", json={"date": day}, headers=site.auth
    )
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def shift(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in data["ppe"]["by_shift"] if s["name"] == name)
    return found


async def test_spring_forward_day_has_23_hours_and_counts_by_local_midnight(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, time_zone="America/New_York")
    await add_events(
        db,
        site,
        [
            {"at": utc(2026, 3, 8, 4, 30), "type": "fall"},  # 23:30 EST on March 7
            {"at": utc(2026, 3, 8, 5, 30), "type": "fall"},  # 00:30 EST on March 8
            {"at": utc(2026, 3, 9, 3, 30), "type": "fall"},  # 23:30 EDT on March 8
            {"at": utc(2026, 3, 9, 4, 30), "type": "fall"},  # 00:30 EDT on March 9
        ],
    )
    data = await summarize(client, site, "2026-03-08")
    assert data["day"] == {"start": "2026-03-08T05:00:00Z", "end": "2026-03-09T04:00:00Z", "hours": 23.0}
    assert data["alerts"]["by_type"]["fall"]["total"] == 2
    # The night shift that started on March 7 at 22:00 EST ends at 06:00 EDT: 7 hours.
    night = shift(await summarize(client, site, "2026-03-07"), "Night")
    assert (night["start"], night["end"], night["hours"]) == (
        "2026-03-08T03:00:00Z",
        "2026-03-08T10:00:00Z",
        7.0,
    )


async def test_fall_back_day_has_25_hours_and_its_night_shift_9(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, time_zone="America/New_York")
    await add_events(
        db,
        site,
        [
            {"at": utc(2026, 11, 1, 3, 59), "type": "near_miss"},  # 23:59 EDT October 31
            {"at": utc(2026, 11, 1, 4, 0), "type": "near_miss"},  # 00:00 EDT November 1
            {"at": utc(2026, 11, 1, 6, 30), "type": "near_miss"},  # 01:30 EST (the second one)
            {"at": utc(2026, 11, 2, 4, 59), "type": "near_miss"},  # 23:59 EST November 1
            {"at": utc(2026, 11, 2, 5, 0), "type": "near_miss"},  # 00:00 EST November 2
        ],
    )
    data = await summarize(client, site, "2026-11-01")
    assert data["day"] == {"start": "2026-11-01T04:00:00Z", "end": "2026-11-02T05:00:00Z", "hours": 25.0}
    assert data["alerts"]["total"] == 3
    night = shift(await summarize(client, site, "2026-10-31"), "Night")
    assert (night["start"], night["end"], night["hours"]) == (
        "2026-11-01T02:00:00Z",
        "2026-11-01T11:00:00Z",
        9.0,
    )


async def test_ppe_compliance_is_one_minus_violations_over_opportunities(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, time_zone="America/Chicago")
    # PPE on the deck from 06:00 to 20:00 local (CST is UTC-6 in December).
    r = await client.patch(
        f"/api/v1/safety/zones/{site.zones['Deck']}",
        json={"ppe_start": "06:00", "ppe_end": "20:00"},
        headers=site.auth,
    )
    assert r.status_code == 200, r.text
    day = [
        {"at": utc(2026, 12, 2, 13, 0), "persons": 6},  # 07:00, Day shift
        {"at": utc(2026, 12, 2, 15, 0), "persons": 4},  # 09:00, Day shift
        {"at": utc(2026, 12, 2, 13, 5)},  # hard hat
        {"at": utc(2026, 12, 2, 13, 6)},  # hard hat
        {"at": utc(2026, 12, 2, 13, 7), "missing": ["hard_hat", "hi_vis_vest"]},
        {"at": utc(2026, 12, 2, 13, 8), "state": ReviewState.false_positive},  # excluded
        {"at": utc(2026, 12, 2, 13, 9), "missing": ["gloves"]},  # not required on the deck
        {"at": utc(2026, 12, 3, 3, 0)},  # 21:00: after the deck's PPE hours
        {"at": utc(2026, 12, 2, 16, 0), "type": "zone_breach", "zone": "Crane swing"},
        {
            "at": utc(2026, 12, 2, 16, 1),
            "type": "zone_breach",
            "zone": "Crane swing",
            "state": ReviewState.confirmed,
        },
    ]
    await add_events(db, site, day)
    data = await summarize(client, site, "2026-12-02")
    ppe = data["ppe"]
    items = {i["item"]: i for i in ppe["overall"]["by_item"]}
    assert items["hard_hat"] == {"item": "hard_hat", "violations": 3, "opportunities": 10, "rate": 0.7}
    assert items["hi_vis_vest"] == {"item": "hi_vis_vest", "violations": 1, "opportunities": 10, "rate": 0.9}
    assert (ppe["overall"]["violations"], ppe["overall"]["opportunities"], ppe["overall"]["rate"]) == (
        4,
        20,
        0.8,
    )
    assert shift(data, "Day")["rate"] == 0.8
    night = shift(data, "Night")
    assert (night["opportunities"], night["rate"]) == (0, None)  # no people seen: no rate, not 100 %
    assert data["alerts"]["by_type"]["ppe_violation"] == {
        "total": 5,
        "false_positives": 1,
        "confirmed": 0,
        "by_state": {"new": 5, "false_positive": 1},
    }
    assert data["zone_breaches"]["total"] == 2
    assert data["zone_breaches"]["by_zone"] == [
        {"zone_id": site.zones["Crane swing"], "zone": "Crane swing", "count": 2}
    ]
    assert data["confirmed"] == 1
    assert data["alerts"]["total"] == 7


async def test_summaries_are_versioned_snapshots(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    await add_events(db, site, [{"at": utc(2026, 6, 1, 15, 0), "type": "fall"}])
    first = await summarize(client, site, "2026-06-01")
    await add_events(db, site, [{"at": utc(2026, 6, 1, 16, 0), "type": "fall"}])
    second = await summarize(client, site, "2026-06-01")
    assert (first["alerts"]["total"], second["alerts"]["total"]) == (1, 2)
    url = f"/api/v1/safety/sites/{site.site_id}/summaries"
    latest = (await client.get(url, params={"date": "2026-06-01"}, headers=site.auth)).json()
    assert [s["version"] for s in latest] == [2]
    every = (
        await client.get(url, params={"date": "2026-06-01", "all_versions": "true"}, headers=site.auth)
    ).json()
    assert [s["version"] for s in every] == [2, 1]
    assert [s["data"]["alerts"]["total"] for s in every] == [2, 1]  # the first snapshot is kept as it was
    missing = await client.get(url, params={"date": "2026-06-02"}, headers=site.auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_summary"


async def test_the_17_00_job_stores_the_site_day(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    site = await make_site(client, db, settings, shifts=False)
    await add_events(db, site, [{"at": utc(2026, 6, 1, 15, 0), "type": "fall"}])
    job = next(j for j in load_job_modules() if j.name == "safety.daily_summary")
    assert (job.at.hour, job.at.minute) == (17, 0)
    async with db.transaction() as session:
        project = await session.get(Project, site.project_id)
        assert project is not None
        await job.run(LocalRun(session, job.name, project, date(2026, 6, 1), utc(2026, 6, 1, 21, 0)))
    rows = (
        await client.get(
            f"/api/v1/safety/sites/{site.site_id}/summaries", params={"date": "2026-06-01"}, headers=site.auth
        )
    ).json()
    assert [(r["version"], r["data"]["alerts"]["total"]) for r in rows] == [(1, 1)]
