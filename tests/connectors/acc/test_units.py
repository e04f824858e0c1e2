"""ACC connector parts that need no server: ids, the webhook signature and parse, the Safety
subtype search, custom attributes through the field mapping, and which attributes a PATCH sends."""

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from fieldbridge.connections.connector import DeliveryItem, NotAuthentic
from fieldbridge.connections.models import Connection
from fieldbridge.connectors.acc import issues
from fieldbridge.connectors.acc.connect import hubs_of
from fieldbridge.connectors.acc.errors import NotPermitted, map_error
from fieldbridge.connectors.acc.inbound import signature_ok, verify
from fieldbridge.connectors.acc.provider import acc_id, dm_id
from fieldbridge.connectors.acc.setup import Attribute, SafetySetup, _find_subtype
from fieldbridge.kit.errors import BadRequest

SECRET = "s3cret-token"


def _connection() -> Connection:
    return Connection(id=7, company_id=1, provider="acc", config={"client_id": "x", "webhook_secret": SECRET})


def _signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-adsk-signature": "sha1hash=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()}


def test_ids_convert_between_data_management_and_acc() -> None:
    assert acc_id("b.4be0c34a-4ab7") == "4be0c34a-4ab7"
    assert acc_id("4be0c34a-4ab7") == "4be0c34a-4ab7"
    assert dm_id("4be0c34a-4ab7") == "b.4be0c34a-4ab7"
    assert dm_id("b.4be0c34a-4ab7") == "b.4be0c34a-4ab7"


def test_hub_picker_lists_acc_hubs_without_the_prefix() -> None:
    body = {
        "data": [
            {
                "id": "b.abc",
                "attributes": {
                    "name": "North",
                    "region": "EMEA",
                    "extension": {"type": "hubs:autodesk.bim360:Account"},
                },
            },
            {
                "id": "a.personal",
                "attributes": {"name": "Fusion", "extension": {"type": "hubs:autodesk.core:Hub"}},
            },
        ]
    }
    assert hubs_of(body) == [{"id": "abc", "dm_id": "b.abc", "name": "North", "region": "EMEA"}]


def test_webhook_signature_is_checked_over_the_exact_body() -> None:
    body = json.dumps(
        {
            "hook": {"event": "issue.updated-1.0", "scope": {"project": "b.p1"}},
            "payload": {"id": "i-1", "status": "closed", "updatedAt": "2026-12-01T10:00:00.000Z", "x": 1},
        }
    ).encode()
    (event,) = verify(_signed(body), body, _connection())
    assert event.event_type == "issue.updated"
    assert event.resource == "issues"
    assert event.remote_id == "i-1"
    assert event.remote_project_id == "p1"  # without b.
    assert event.remote_version == "2026-12-01T10:00:00.000Z"
    assert event.dedupe_key == "issue.updated:i-1:2026-12-01T10:00:00.000Z"
    assert event.payload["status"] == "closed"
    assert "x" not in event.payload
    with pytest.raises(NotAuthentic):
        verify(_signed(body, "other"), body, _connection())
    with pytest.raises(NotAuthentic):
        verify(_signed(body), body + b" ", _connection())
    with pytest.raises(NotAuthentic):
        verify({}, body, _connection())
    unsigned = Connection(id=8, company_id=1, provider="acc", config={"client_id": "x"})
    with pytest.raises(NotAuthentic):
        verify(_signed(body), body, unsigned)


def test_a_signed_body_that_is_no_callback_is_a_bad_request() -> None:
    for body in (b"[1]", b"not json", json.dumps({"hook": {}, "payload": {}}).encode()):
        with pytest.raises(BadRequest):
            verify(_signed(body), body, _connection())


def test_sha256_signatures_are_accepted_too() -> None:
    body = b"{}"
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature_ok(f"sha256hash={digest}", body, SECRET)
    assert not signature_ok(f"md5={digest}", body, SECRET)


def test_safety_subtype_is_found_by_title_as_subtype_or_category() -> None:
    types = [
        {"id": "t1", "title": "Quality", "isActive": True, "subtypes": [{"id": "s1", "title": "Defect"}]},
        {"id": "t2", "title": "Site", "subtypes": [{"id": "s2", "title": "safety ", "isActive": True}]},
    ]
    assert _find_subtype(types, "Safety") == ("t2", "s2", "safety ")
    by_category = [
        {
            "id": "t3",
            "title": "Safety",
            "subtypes": [
                {"id": "s3", "title": "Near miss", "isActive": False},
                {"id": "s4", "title": "Hazard"},
            ],
        }
    ]
    assert _find_subtype(by_category, "Safety") == ("t3", "s4", "Hazard")
    assert (
        _find_subtype(
            [
                {
                    "id": "t4",
                    "title": "Safety",
                    "isActive": False,
                    "subtypes": [{"id": "s5", "title": "Safety"}],
                }
            ],
            "Safety",
        )
        is None
    )


SETUP = SafetySetup(
    project_id="p1",
    type_id="t",
    subtype_id="s",
    subtype_title="Safety",
    statuses=("draft", "open", "closed"),
    attributes={
        "a1": Attribute("a1", "Priority", "list", {"o1": "Low", "o2": "High"}),
        "a2": Attribute("a2", "Score", "numeric"),
        "a3": Attribute("a3", "Camera", "text"),
    },
)


def _item(payload: dict[str, object], **kw: object) -> DeliveryItem:
    values: dict[str, object] = {
        "id": 1,
        "kind": "acc.safety.observation",
        "subject": "observation:41",
        "payload": payload,
        "idempotency_key": "observation:41:v1",
        "remote_project_id": "p1",
        "attempts": 1,
        "outcome_unknown": False,
        "remote_id": None,
        "subject_remote_id": None,
        "created_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
    }
    values.update(kw)
    return DeliveryItem(**values)  # type: ignore[arg-type]


def test_mapped_values_become_the_projects_custom_attributes() -> None:
    mapped = {
        "priority": {"remote_value": "priority=HIGH", "remote_label": "High", "missing": False},
        "observation_type": {"remote_value": "Score=4.5", "remote_label": "4.5", "missing": False},
        "hazard": {"remote_value": "Not here=x", "remote_label": "x", "missing": False},
        "incident_type": None,
    }
    assert issues.custom_attributes({"mapped": mapped}, SETUP) == [
        {"attributeDefinitionId": "a1", "value": "o2"},
        {"attributeDefinitionId": "a2", "value": 4.5},
    ]


def test_an_issue_body_carries_status_location_due_date_and_the_marker() -> None:
    item = _item(
        {
            "title": "No hard hat in Zone A",
            "description": "3 detections",
            "link": "https://fb.example/safety/detections/41",
            "zone": "Zone A",
            "priority": 5,
            "first_at": "2026-12-01T08:00:00Z",
        }
    )
    body = issues.body(item, "observation", SETUP)
    assert body["issueSubtypeId"] == "s"
    assert body["status"] == "open"
    assert body["locationDetails"] == "Zone A"
    assert body["dueDate"] == "2026-12-02"
    assert body["description"].endswith(
        "https://fb.example/safety/detections/41\n[fieldbridge:observation:41]"
    )
    closed = issues.body(
        _item({"title": "t", "status": "closed"}, kind="acc.safety.incident"), "incident", SETUP
    )
    assert closed["status"] == "closed"
    assert "dueDate" not in closed


def test_status_falls_back_within_the_status_set() -> None:
    only = SafetySetup("p", "t", "s", "Safety", ("draft", "in_progress"), {})
    assert only.status("closed") == "in_progress"
    assert SETUP.status("closed") == "closed"
    assert SETUP.status(None) == "open"


def test_patch_sends_only_permitted_changes_and_the_required_fields() -> None:
    current = {
        "title": "Old",
        "issueSubtypeId": "s",
        "status": "open",
        "description": "same",
        "dueDate": "2026-12-02",
        "permittedAttributes": ["title", "description"],
        "permittedStatuses": ["open", "closed"],
    }
    wanted = {"title": "New", "description": "same", "dueDate": "2026-12-09", "status": "closed"}
    assert issues._changes(wanted, current) == {"title": "New", "issueSubtypeId": "s", "status": "closed"}
    locked = {**current, "permittedAttributes": [], "permittedStatuses": []}
    assert issues._changes(wanted, locked) == {"title": "Old", "issueSubtypeId": "s", "status": "open"}


def test_a_403_reads_as_no_permission_in_the_export_log() -> None:
    failure = map_error(NotPermitted("Autodesk refused: forbidden", status=403))
    assert failure is not None
    assert failure.reason.startswith("no permission: ")
