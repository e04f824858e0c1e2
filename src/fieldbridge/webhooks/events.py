"""The event catalogue: every event type FieldBridge sends, versioned, with its data model (the
published JSON Schema), an example, and its compact `activity` rendering.

Domain code emits with `webhooks.service.emit(session, company_id, "shift.closed", data)`;
`data` is validated against the type's model here, so what leaves always matches the schema
served at `/schemas/events/<type>.json`.

People appear only as `Person`: its `name` is serialized for internal endpoints alone, so a
payload never carries a worker's name to a receiver that is not marked internal.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(_Data):
    """A worker. `name` is sent only to endpoints marked internal."""

    id: int
    employee_id: str | None = None
    name: str | None = Field(
        default=None, description="Only for endpoints marked internal; absent otherwise."
    )

    @model_serializer(mode="wrap")
    def _without_name_unless_internal(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        out = handler(self)
        context = info.context if isinstance(info.context, Mapping) else {}
        if not context.get("internal", False):
            out.pop("name", None)
        return out


class ProjectRef(_Data):
    id: int = Field(description="FieldBridge's project id.")
    remote_id: int | None = Field(default=None, description="The project's id on its platform (Procore).")
    name: str


class ShiftClosed(_Data):
    shift_id: int
    worker: Person
    project: ProjectRef | None
    place: str = Field(description="Where the time was worked, e.g. 'Tower A / 03-100 Concrete · Labor'.")
    work_date: date
    time_zone: str | None
    started_at: datetime
    ended_at: datetime
    break_minutes: int
    worked_hours: str = Field(description="Hours worked, two decimals, e.g. '7.50'.", pattern=r"^\d+\.\d{2}$")
    injured: bool | None = Field(description="The worker's answer at clock-out; null when not asked.")


class TimecardExported(_Data):
    shift_id: int | None
    worker: Person | None
    platform: str = Field(description="Where the time went, e.g. 'procore'.")
    remote_project_id: int | None
    remote_id: str | None = Field(description="The timecard entry's id on the platform.")
    date: date | None
    hours: str | None = Field(description="Hours sent, two decimals, e.g. '8.00'.", pattern=r"^\d+\.\d{2}$")
    delivery_id: int = Field(description="The export-log row that delivered it.")


class DetectionCreated(_Data):
    detection_id: int
    project: ProjectRef | None
    kind: str = Field(description="What was detected, e.g. 'no_hard_hat', 'fall_hazard'.")
    severity: Literal["low", "medium", "high", "critical"]
    confidence: float | None = Field(default=None, ge=0, le=1)
    detected_at: datetime
    source: str | None = Field(default=None, description="Camera or device that saw it.")
    summary: str
    image_url: str | None = None


class IncidentEvent(_Data):
    incident_id: int
    project: ProjectRef | None
    title: str
    severity: Literal["low", "medium", "high", "critical"]
    status: str = Field(description="e.g. 'confirmed', 'investigating', 'closed'.")
    occurred_at: datetime
    people: list[Person] = Field(default_factory=list, description="Workers involved.")
    changed: list[str] = Field(default_factory=list, description="Fields changed (incident.updated).")
    remote_id: str | None = Field(default=None, description="The incident's id on the platform, once there.")


class ObservationCreated(_Data):
    observation_id: int
    project: ProjectRef | None
    title: str
    category: str | None = None
    observed_at: datetime
    reported_by: Person | None = None
    remote_id: str | None = None


class DailySummaryPosted(_Data):
    project: ProjectRef
    local_date: date
    detections: int = Field(ge=0)
    incidents: int = Field(ge=0)
    observations: int = Field(ge=0)
    worked_hours: str | None = Field(default=None, pattern=r"^\d+\.\d{2}$")
    text: str = Field(description="The summary as posted.")


Activity = tuple[str, str, str]  # title, one-line text, link path (joined to the server's base URL)


def _project_name(data: Mapping[str, Any]) -> str:
    project = data.get("project") or {}
    return str(project.get("name") or "a project")


def _who(data: Mapping[str, Any], key: str = "worker") -> str:
    person = data.get(key) or {}
    return str(person.get("name") or f"Worker #{person.get('id', '?')}")


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    description: str
    model: type[_Data]
    example: dict[str, Any]
    activity: Callable[[Mapping[str, Any]], Activity]

    def validate(self, data: Mapping[str, Any]) -> _Data:
        return self.model.model_validate(data)

    def dump(self, data: _Data, *, internal: bool) -> dict[str, Any]:
        out: dict[str, Any] = data.model_dump(mode="json", context={"internal": internal})
        return out


EXAMPLE_PROJECT = {"id": 12, "remote_id": 562949953443225, "name": "Riverside Tower"}

EVENTS: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType(
            "shift.closed",
            1,
            "A worker clocked out: the shift's times, breaks and hours.",
            ShiftClosed,
            {
                "shift_id": 4107,
                "worker": {"id": 31, "employee_id": "E031", "name": "Dana Ortiz"},
                "project": EXAMPLE_PROJECT,
                "place": "Riverside Tower / 03-100 Concrete · Labor",
                "work_date": "2026-11-30",
                "time_zone": "America/Denver",
                "started_at": "2026-11-30T14:00:00Z",
                "ended_at": "2026-11-30T22:30:00Z",
                "break_minutes": 30,
                "worked_hours": "8.00",
                "injured": False,
            },
            lambda d: (
                f"Shift closed: {d.get('worked_hours')} h",
                f"{_who(d)} clocked out at {_project_name(d)} ({d.get('place')}).",
                f"/timesheets/shifts/{d.get('shift_id')}",
            ),
        ),
        EventType(
            "timecard.exported",
            1,
            "A shift's time reached the platform (a timecard delivery was delivered).",
            TimecardExported,
            {
                "shift_id": 4107,
                "worker": {"id": 31, "employee_id": "E031", "name": "Dana Ortiz"},
                "platform": "procore",
                "remote_project_id": 562949953443225,
                "remote_id": "9876543",
                "date": "2026-11-30",
                "hours": "8.00",
                "delivery_id": 2231,
            },
            lambda d: (
                f"Time exported to {d.get('platform')}",
                f"{d.get('hours') or '?'} h for {_who(d)} on {d.get('date')} reached {d.get('platform')}.",
                f"/export-log/{d.get('delivery_id')}",
            ),
        ),
        EventType(
            "detection.created",
            1,
            "A safety detection was recorded (camera or device).",
            DetectionCreated,
            {
                "detection_id": 88,
                "project": EXAMPLE_PROJECT,
                "kind": "no_hard_hat",
                "severity": "high",
                "confidence": 0.91,
                "detected_at": "2026-11-30T16:12:08Z",
                "source": "Gate camera 2",
                "summary": "Person without a hard hat near the north hoist.",
                "image_url": None,
            },
            lambda d: (
                f"Safety detection: {d.get('kind')} ({d.get('severity')})",
                f"{d.get('summary')} at {_project_name(d)}.",
                "/",
            ),
        ),
        EventType(
            "incident.confirmed",
            1,
            "A safety incident was confirmed by a person.",
            IncidentEvent,
            {
                "incident_id": 17,
                "project": EXAMPLE_PROJECT,
                "title": "Slip on wet formwork",
                "severity": "medium",
                "status": "confirmed",
                "occurred_at": "2026-11-30T15:40:00Z",
                "people": [{"id": 31, "employee_id": "E031", "name": "Dana Ortiz"}],
                "changed": [],
                "remote_id": None,
            },
            lambda d: (
                f"Incident confirmed: {d.get('title')}",
                f"{d.get('severity')} incident at {_project_name(d)}.",
                "/",
            ),
        ),
        EventType(
            "incident.updated",
            1,
            "A confirmed incident changed (status, severity, details).",
            IncidentEvent,
            {
                "incident_id": 17,
                "project": EXAMPLE_PROJECT,
                "title": "Slip on wet formwork",
                "severity": "medium",
                "status": "closed",
                "occurred_at": "2026-11-30T15:40:00Z",
                "people": [{"id": 31, "employee_id": "E031", "name": "Dana Ortiz"}],
                "changed": ["status"],
                "remote_id": "3345",
            },
            lambda d: (
                f"Incident updated: {d.get('title')}",
                f"Now {d.get('status')} at {_project_name(d)}; changed: {', '.join(d.get('changed') or [])}.",
                "/",
            ),
        ),
        EventType(
            "observation.created",
            1,
            "A safety observation was recorded.",
            ObservationCreated,
            {
                "observation_id": 203,
                "project": EXAMPLE_PROJECT,
                "title": "Missing toe board on level 4",
                "category": "housekeeping",
                "observed_at": "2026-11-30T17:05:00Z",
                "reported_by": {"id": 31, "employee_id": "E031", "name": "Dana Ortiz"},
                "remote_id": None,
            },
            lambda d: (
                f"Observation: {d.get('title')}",
                f"{d.get('category') or 'Observation'} at {_project_name(d)}.",
                "/",
            ),
        ),
        EventType(
            "daily_summary.posted",
            1,
            "A project's daily safety and time summary was posted.",
            DailySummaryPosted,
            {
                "project": EXAMPLE_PROJECT,
                "local_date": "2026-11-30",
                "detections": 3,
                "incidents": 1,
                "observations": 2,
                "worked_hours": "212.50",
                "text": "3 detections, 1 incident, 2 observations; 212.50 crew hours.",
            },
            lambda d: (
                f"Daily summary: {_project_name(d)} {d.get('local_date')}",
                str(d.get("text") or ""),
                "/",
            ),
        ),
    )
}


def event_type(name: str) -> EventType:
    try:
        return EVENTS[name]
    except KeyError:
        raise LookupError(f"unknown event type {name!r}; known: {', '.join(sorted(EVENTS))}") from None


def json_schema(event: EventType, base_url: str) -> dict[str, Any]:
    """The published schema of one event type: the `standard` envelope around its data."""
    data = event.model.model_json_schema(mode="serialization")
    defs = data.pop("$defs", {})
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{base_url.rstrip('/')}/schemas/events/{event.name}.json",
        "title": event.name,
        "description": event.description,
        "x-version": event.version,
        "type": "object",
        "required": ["id", "type", "version", "timestamp", "data"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "description": "The message id; equals the webhook-id header."},
            "type": {"const": event.name},
            "version": {"const": event.version},
            "timestamp": {"type": "string", "format": "date-time"},
            "test": {"type": "boolean", "description": "Present and true on test events."},
            "data": data,
        },
        "$defs": defs,
    }
