"""The incident pages: record through the form, see the decision, print the 300, 300A and 301."""

import re

import httpx

from fieldbridge.kit.db import Database
from fieldbridge.settings import Settings
from tests.factories import bearer, create_tenant, sign_in_browser
from tests.incidents.helpers import create_site

FORM = {
    "occurred_local": "2026-07-14T10:30",
    "location": "Level 3 deck",
    "description": "Fell from a step ladder.",
    "nature": "fracture",
    "body_part": "right wrist",
    "case_type": "injury",
    "treatment": "medical_treatment",
    "days_away": "5",
    "days_restricted": "0",
    "work_related": "on",
    "new_case": "on",
    "significant_diagnosed": "on",
    "object_substance": "step ladder",
    "treated_in_emergency_room": "yes",
    "hospitalized_overnight": "no",
}


async def test_record_through_the_form_and_print_the_forms(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    t = await create_tenant(db, settings)
    site = await create_site(db, t.company.id)
    csrf = await sign_in_browser(client, t.admin.email)
    listing = await client.get("/incidents", headers={"accept": "text/html"})
    assert listing.status_code == 200
    assert f"/incidents/new?site={site.id}" in listing.text

    form = await client.get(f"/incidents/new?site={site.id}", headers={"accept": "text/html"})
    assert form.status_code == 200
    assert "First aid is only this list" in form.text
    saved = await client.post(
        f"/incidents/new?site={site.id}",
        data={
            **FORM,
            "worker_id": str(t.worker.id),
            "privacy_case": "on",
            "privacy_reason": "intimate_body_part",
            "csrf_token": csrf,
        },
    )
    assert saved.status_code == 303, saved.text
    page = await client.get(saved.headers["location"], headers={"accept": "text/html"})
    assert "OSHA 300 case 1 (2026)" in page.text
    assert "days away from work (1904.7(b)(3))" in page.text
    incident_id = int(re.search(r"/incidents/(\d+)", saved.headers["location"]).group(1))  # type: ignore[union-attr]

    api = await client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(t.api_key))
    assert api.json()["occurred_at"] == "2026-07-14T16:30:00Z"  # 10:30 MDT
    assert api.json()["treated_in_emergency_room"] is True
    assert api.json()["hospitalized_overnight"] is False

    log = await client.get(f"/osha/300?site={site.id}&year=2026", headers={"accept": "text/html"})
    assert log.status_code == 200
    assert "Privacy Case" in log.text
    assert t.worker.name not in log.text
    assert "fracture, right wrist from step ladder" in log.text
    assert "/static/osha.css" in log.text
    summary = await client.get(f"/osha/300a?site={site.id}&year=2026", headers={"accept": "text/html"})
    assert "(H) Cases with days away from work" in summary.text
    report = await client.get(f"/incidents/{incident_id}/301", headers={"accept": "text/html"})
    assert "10:30 MDT" in report.text
    assert "Injury and Illness Incident Report" in report.text

    # A bad change is refused on the page and nothing of it is saved.
    bad = await client.post(
        f"/incidents/{incident_id}",
        data={**FORM, "died": "on", "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert bad.status_code == 422
    assert "date_of_death" in bad.text
    assert 'id="died" name="died" checked' in bad.text  # what was typed is still on the form
    again = await client.get(f"/api/v1/incidents/{incident_id}", headers=bearer(t.api_key))
    assert again.json()["died"] is False
    skipped = await client.post(
        f"/incidents/{incident_id}",
        data={**FORM, "occurred_local": "2026-03-08T02:30", "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert skipped.status_code == 422
    assert "clocks went forward" in skipped.text
    assert 'value="2026-03-08T02:30"' in skipped.text

    # A new incident refused keeps what was typed.
    refused = await client.post(
        f"/incidents/new?site={site.id}",
        data={**FORM, "days_away": "400", "csrf_token": csrf},
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 422
    assert "days_away" in refused.text
    assert 'value="Level 3 deck"' in refused.text
    assert 'value="fracture"' in refused.text
