"""Procore's refusals of timecards, in words a foreman or support engineer can act on."""

import httpx
import pytest

from fieldbridge.connectors.procore.timecards import plain_reason, procore_body

P = 4242


def _response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def _api_error(status: int, message: str) -> httpx.Response:
    return _response(
        status, {"code": status, "message": message, "error": "x", "reason": "x", "errors": message}
    )


@pytest.mark.parametrize(
    ("response", "fields", "expected"),
    [
        (_api_error(404, "Project not found"), None, "not available to FieldBridge (not synced"),
        (_api_error(403, "Project is inactive"), None, "is inactive"),
        (
            _api_error(403, "User does not have permission to create Timecard Entries"),
            None,
            "no Timecard permission",
        ),
        (_api_error(403, "The timecards tool is disabled in this project"), None, "tool is off"),
        (
            _response(
                422,
                {"errors": {"base": ["Timecard entry cannot be changed because its timesheet is approved"]}},
            ),
            {"base": ["Timecard entry cannot be changed because its timesheet is approved"]},
            "locked: its Procore timesheet is approved",
        ),
        (
            _response(422, {"errors": {"party_id": ["does not exist"]}}),
            {"party_id": ["does not exist"]},
            "not a person in this Procore company",
        ),
        (
            _response(422, {"errors": {"cost_code_id": ["does not exist"]}}),
            {"cost_code_id": ["does not exist"]},
            "cost code is not valid",
        ),
        (
            _response(422, {"errors": {"hours": ["must be between 0 and 24"]}}),
            {"hours": ["must be between 0 and 24"]},
            "hours must be between",
        ),
    ],
)
def test_plain_reasons(response: httpx.Response, fields: dict[str, list[str]] | None, expected: str) -> None:
    reason = plain_reason(response, P, fields)
    assert expected in reason
    assert "{" not in reason


@pytest.mark.parametrize(
    ("response", "fields", "expected"),
    [
        (_api_error(403, "Project is inactive"), None, "Maple Grove Library is inactive in Procore."),
        (
            _api_error(403, "Resource outside access scope"),
            None,
            "Procore refused FieldBridge access to Maple Grove Library (Resource outside access scope)",
        ),
        (
            _response(422, {"errors": {"party_id": ["does not exist"]}}),
            {"party_id": ["does not exist"]},
            "Maria Lopez is not a person in this Procore company (or was removed). Link this worker",
        ),
        (
            _response(422, {"errors": {"hours": ["must be between 0 and 24"]}}),
            {"hours": ["must be between 0 and 24"]},
            "timecard of Maria Lopez in Maple Grove Library: hours must be between 0 and 24",
        ),
    ],
)
def test_plain_reasons_name_the_project_and_the_worker_not_their_ids(
    response: httpx.Response, fields: dict[str, list[str]] | None, expected: str
) -> None:
    reason = plain_reason(response, P, fields, {"project": "Maple Grove Library", "worker": "Maria Lopez"})
    assert expected in reason
    assert str(P) not in reason
    assert reason.endswith("then retry.")


def test_bodies_carry_procore_ids_as_numbers_whatever_fieldbridge_stored() -> None:
    """FieldBridge keeps Procore's ids as strings (rows from before the change hold numbers);
    Procore's JSON takes numbers, so the body turns id fields back into them and leaves the
    rest as it is."""
    stored = {
        "project_id": "562949953421312",
        "party_id": "42",
        "cost_code_id": 7,
        "sub_job_id": None,
        "hours": "8.5",
        "description": "123",
        "date": "2026-11-25",
    }
    assert procore_body(stored) == {
        "project_id": 562949953421312,
        "party_id": 42,
        "cost_code_id": 7,
        "sub_job_id": None,
        "hours": "8.5",
        "description": "123",
        "date": "2026-11-25",
    }
