"""The incidents API: recordability with its basis, case numbers, privacy cases, the 300 log,
300A and ITA files, cursor pagination, and bad input as clear 4xx answers."""

import csv
import io
from typing import Any

import httpx

from fieldbridge.accounts import service as accounts_service
from fieldbridge.accounts.schemas import ApiKeyIn
from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant
from tests.incidents.helpers import create_site

RECORDABLE: dict[str, Any] = {
    "occurred_at": "2026-03-09T09:05:00-06:00",
    "location": "Level 2, east stair",
    "description": "Slipped on the wet stair.",
    "body_part": "left hand",
    "nature": "laceration",
    "treatment": "medical_treatment",
    "object_substance": "rail bracket",
}


async def _post(client: httpx.AsyncClient, key: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/v1/incidents", json=body, headers=bearer(key))


async def test_recordable_incident_gets_the_next_case_number_and_its_basis(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    first = await _post(client, t.api_key, {"site_id": site.id, "worker_id": t.worker.id, **RECORDABLE})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["recordable"] is True
    assert body["case_number"] == 1
    assert body["case_year"] == 2026
    assert body["outcome"] == "other_recordable"
    assert "medical treatment beyond first aid (1904.7(b)(5))" in body["recordability_basis"]
    assert body["occurred_on"] == "2026-03-09"
    assert body["employee_name"] == t.worker.name

    first_aid = await _post(client, t.api_key, {"site_id": site.id, **RECORDABLE, "treatment": "first_aid"})
    assert first_aid.json()["recordable"] is False
    assert first_aid.json()["case_number"] is None
    assert "first aid only" in first_aid.json()["recordability_basis"]

    # A change that makes it recordable gives the next number; days away make it column H.
    patched = await client.patch(
        f"/api/v1/incidents/{first_aid.json()['id']}", json={"days_away": 3}, headers=bearer(t.api_key)
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["case_number"] == 2
    assert patched.json()["outcome"] == "days_away"

    # Another site keeps its own numbering.
    other = await create_site(db, t.company.id, name="Yard B")
    elsewhere = await _post(client, t.api_key, {"site_id": other.id, **RECORDABLE})
    assert elsewhere.json()["case_number"] == 1

    # A case that stops being recordable keeps its number and is lined out of the log.
    await client.patch(
        f"/api/v1/incidents/{body['id']}", json={"work_related": False}, headers=bearer(t.api_key)
    )
    log = await client.get(f"/api/v1/osha/300?site={site.id}&year=2026", headers=bearer(t.api_key))
    assert log.status_code == 200
    assert [r["case_number"] for r in log.json()["rows"]] == [2]
    assert log.json()["lined_out"] == [1]
    assert log.json()["totals"]["days_away_cases"] == 1
    assert log.json()["totals"]["days_away"] == 3


async def test_privacy_case_prints_privacy_case_and_withholds_the_name(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    created = await _post(
        client,
        t.api_key,
        {
            "site_id": site.id,
            "worker_id": t.worker.id,
            **RECORDABLE,
            "contaminated_sharps": True,  # (b)(7)(v): always a privacy case
            "treatment": "first_aid",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["privacy_case"] is True
    assert created.json()["privacy_reason"] == "contaminated_sharps"
    assert created.json()["recordable"] is True  # 1904.8
    log = await client.get(f"/api/v1/osha/300?site={site.id}&year=2026", headers=bearer(t.api_key))
    assert log.json()["rows"][0]["name"] == "Privacy Case"
    assert t.worker.name not in log.text

    async with db.transaction() as session:
        _, reader = await accounts_service.create_api_key(
            session, t.company.id, ApiKeyIn(name="reader", scopes=["incidents:read"])
        )
    seen = await client.get(f"/api/v1/incidents/{created.json()['id']}", headers=bearer(reader))
    assert seen.json()["employee_name"] is None
    assert seen.json()["worker_id"] is None
    listed = await client.get("/api/v1/incidents", headers=bearer(reader))
    assert t.worker.name not in listed.text
    refused = await _post(client, reader, {"site_id": site.id, **RECORDABLE})
    assert refused.status_code == 403
    # The confidential list of names is for incidents:write only.
    secret = f"/api/v1/osha/privacy-cases?site={site.id}&year=2026"
    assert (await client.get(secret, headers=bearer(reader))).status_code == 403
    names = (await client.get(secret, headers=bearer(t.api_key))).json()
    assert names == [{"case_number": 1, "employee_name": t.worker.name, "incident_id": created.json()["id"]}]

    # An employee's request makes a privacy case only for an illness (b)(7)(vi).
    injury = await _post(
        client,
        t.api_key,
        {"site_id": site.id, **RECORDABLE, "privacy_case": True, "privacy_reason": "employee_request"},
    )
    assert injury.status_code == 422
    assert injury.json()["error"]["details"][0]["field"] == "privacy_reason"
    no_reason = await _post(client, t.api_key, {"site_id": site.id, **RECORDABLE, "privacy_case": True})
    assert no_reason.status_code == 422
    assert "1904.29(b)(7)" in no_reason.json()["error"]["message"]


async def test_bad_input_is_a_clear_4xx(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    t = await create_tenant(db, settings)
    other = await create_tenant(db, settings, "Other")
    site = await create_site(db, t.company.id)
    foreign_site = await create_site(db, other.company.id)

    async def problem(body: dict[str, Any]) -> tuple[int, str]:
        response = await _post(client, t.api_key, body)
        return response.status_code, response.json()["error"]["message"]

    status, message = await problem({"site_id": foreign_site.id, **RECORDABLE})
    assert status == 422
    assert message.startswith("site_id:")
    status, message = await problem({"site_id": site.id, **RECORDABLE, "worker_id": other.worker.id})
    assert status == 422
    assert message.startswith("worker_id:")
    status, message = await problem({"site_id": site.id, **RECORDABLE, "zone_id": foreign_site.zone_id})
    assert status == 422
    assert message.startswith("zone_id:")
    status, message = await problem({"site_id": site.id, "location": "x"})
    assert status == 422
    assert "occurred_at" in message
    status, message = await problem({"site_id": site.id, **RECORDABLE, "days_away": 181})
    assert status == 422
    assert "days_away" in message
    status, message = await problem({"site_id": site.id, **RECORDABLE, "died": True})
    assert status == 422
    assert "date_of_death" in message
    status, message = await problem({"site_id": site.id, **RECORDABLE, "occurred_at": "1999-12-31T00:00:00Z"})
    assert status == 422
    status, message = await problem({"site_id": site.id, **RECORDABLE, "treatment": "bandaid"})
    assert status == 422
    assert "treatment" in message
    status, message = await problem({"site_id": site.id, **RECORDABLE, "days_awy": 2})
    assert status == 422
    assert "days_awy" in message
    status, message = await problem({"site_id": site.id, **RECORDABLE, "occurred_on": "2026-03-10"})
    assert status == 422
    assert "occurred_on" in message
    status, _ = await problem({"site_id": "seven", **RECORDABLE})
    assert status == 422

    made = await _post(client, t.api_key, {"site_id": site.id, **RECORDABLE})
    moved = await client.patch(
        f"/api/v1/incidents/{made.json()['id']}",
        json={"occurred_at": "2027-01-02T10:00:00-07:00"},
        headers=bearer(t.api_key),
    )
    assert moved.status_code == 409
    assert "2026 log" in moved.json()["error"]["message"]
    missing = await client.get(
        f"/api/v1/osha/300?site={foreign_site.id}&year=2026", headers=bearer(t.api_key)
    )
    assert missing.status_code == 404
    bad_cursor = await client.get("/api/v1/incidents?cursor=nonsense!", headers=bearer(t.api_key))
    assert bad_cursor.status_code == 422
    assert bad_cursor.json()["error"]["details"][0]["field"] == "cursor"
    assert (
        await client.get("/api/v1/osha/300?site=1&year=1999", headers=bearer(t.api_key))
    ).status_code == 422


async def test_time_unknown_keeps_the_date(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    body = {k: v for k, v in RECORDABLE.items() if k != "occurred_at"}
    made = await _post(
        client, t.api_key, {"site_id": site.id, **body, "occurred_on": "2026-05-01", "time_unknown": True}
    )
    assert made.status_code == 201, made.text
    assert made.json()["occurred_at"] is None
    assert made.json()["occurred_on"] == "2026-05-01"
    text = (
        await client.get(f"/api/v1/osha/ita/cases.csv?site={site.id}&year=2026", headers=bearer(t.api_key))
    ).text
    header, row = list(csv.reader(io.StringIO(text)))
    got = dict(zip(header, row, strict=True))
    assert got["time_unknown"] == "1"
    assert got["time_of_incident"] == ""
    assert got["date_of_incident"] == "05/01/2026"


async def test_ita_files_and_300a(client: httpx.AsyncClient, db: Database, settings: Settings) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    await _post(
        client, t.api_key, {"site_id": site.id, **RECORDABLE, "days_restricted": 4, "job_title": "Laborer"}
    )
    await _post(
        client,
        t.api_key,
        {
            **RECORDABLE,
            "site_id": site.id,
            "case_type": "skin_disorder",
            "treatment": "none",
            "significant_diagnosed": True,
        },
    )
    cases = await client.get(
        f"/api/v1/osha/ita/cases.csv?site={site.id}&year=2026", headers=bearer(t.api_key)
    )
    assert cases.status_code == 200
    assert cases.headers["content-type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO(cases.text)))
    assert header[:3] == ["establishment_name", "year_of_filing", "case_number"]
    assert len(header) == 24
    first = dict(zip(header, rows[0], strict=True))
    assert first["establishment_name"] == "Tower A establishment"
    assert first["incident_outcome"] == "3"
    assert first["djtr_num_tr"] == "4"
    assert first["time_of_incident"] == "09:05"  # the site's clock (Denver)
    assert first["incident_description"] == "laceration, left hand from rail bracket"
    assert dict(zip(header, rows[1], strict=True))["type_of_incident"] == "2"

    summary = await client.get(f"/api/v1/osha/300a?site={site.id}&year=2026", headers=bearer(t.api_key))
    totals = summary.json()["totals"]
    assert totals["restricted_cases"] == 1
    assert totals["other_cases"] == 1
    assert totals["skin_disorders"] == 1
    assert summary.json()["size"] == 21
    assert summary.json()["missing_for_ita"] == []
    ita = await client.get(
        f"/api/v1/osha/ita/summary.csv?site={site.id}&year=2026", headers=bearer(t.api_key)
    )
    header, row = list(csv.reader(io.StringIO(ita.text)))
    got = dict(zip(header, row, strict=True))
    assert got["total_djtr_cases"] == "1"
    assert got["total_djtr_days"] == "4"
    assert got["no_injuries_illnesses"] == "1"

    both = await client.get("/api/v1/osha/ita/summary.csv?year=2026", headers=bearer(t.api_key))
    assert both.status_code == 200, both.text
    assert len(list(csv.reader(io.StringIO(both.text)))) == 2  # the header and the one site

    bare = await create_site(db, t.company.id, name="Bare", complete=False)
    every = await client.get("/api/v1/osha/ita/summary.csv?year=2026", headers=bearer(t.api_key))
    assert every.status_code == 422
    assert "naics_code" in every.json()["error"]["details"]["missing"][str(bare.id)]
    refused = await client.get(
        f"/api/v1/osha/ita/summary.csv?site={bare.id}&year=2026", headers=bearer(t.api_key)
    )
    assert refused.status_code == 422
    assert "naics_code" in refused.json()["error"]["details"]["missing"]


async def test_cursor_pages_and_updated_since(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    made = [
        (await _post(client, t.api_key, {"site_id": site.id, **RECORDABLE})).json()["id"] for _ in range(5)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        url = "/api/v1/incidents?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=bearer(t.api_key))).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == made
    # Polling with the last cursor shows only what changed since.
    empty = (await client.get(f"/api/v1/incidents?cursor={cursor}", headers=bearer(t.api_key))).json()
    assert empty["items"] == []
    assert empty["next_cursor"] == cursor
    await client.patch(f"/api/v1/incidents/{made[1]}", json={"days_away": 1}, headers=bearer(t.api_key))
    changed = (await client.get(f"/api/v1/incidents?cursor={cursor}", headers=bearer(t.api_key))).json()
    assert [i["id"] for i in changed["items"]] == [made[1]]
    since = changed["items"][0]["updated_at"]
    polled = await client.get("/api/v1/incidents", params={"updated_since": since}, headers=bearer(t.api_key))
    assert [i["id"] for i in polled.json()["items"]] == [made[1]]
