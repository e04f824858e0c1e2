"""The time half against the references: which forms take `datetime`, time type fields, and the
response types (strings vs integers, objects vs scalars) of every timecard response."""

from __future__ import annotations

from typing import Any

import httpx

from fieldbridge_sandbox.state import SandboxState

from .conftest import Demo

DAY = "2025-02-03"


def _entry(state: SandboxState, demo: Demo, **extra: Any) -> dict[str, Any]:
    return {"hours": "8", "date": DAY, "party_id": demo.person_ids(state, demo.project_id)[0], **extra}


async def test_company_create_accepts_date_with_datetime_as_procore_does(
    client: httpx.AsyncClient, demo: Demo, headers: dict[str, str], state: SandboxState
) -> None:
    """Only the project form documents `datetime` (mutually exclusive with `date`); the company
    form has no `datetime` and takes both, as propycore sends them."""
    body = {
        "project_id": demo.project_id,
        "timecard_entry": _entry(state, demo, datetime=f"{DAY}T12:00:00Z"),
    }
    company = await client.post(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries", json=body, headers=headers
    )
    assert company.status_code == 201, company.text
    assert company.json()["date"] == DAY
    entry_id = company.json()["id"]
    updated = await client.patch(
        f"/rest/v1.0/companies/{demo.company_id}/timecard_entries/{entry_id}",
        json={
            "project_id": demo.project_id,
            "timecard_entry": {"date": DAY, "datetime": "2025-02-09T12:00:00Z"},
        },
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["date"] == DAY  # `datetime` is not a field of this form

    project = await client.post(
        f"/rest/v1.0/projects/{demo.project_id}/timecard_entries",
        json={"timecard_entry": _entry(state, demo, datetime=f"{DAY}T12:00:00Z")},
        headers=headers,
    )
    assert project.status_code == 400, project.text  # documented 400, no 422
    assert project.json()["errors"]["date"] == ["is mutually exclusive with datetime"]
