"""Pydantic I/O of the safety domain: sites, zones, shifts, device assignments, detections,
reviews, PPE observations and daily summaries."""

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from fieldbridge.kit.zones import zone_name
from fieldbridge.safety.models import (
    DetectionSource,
    DetectionType,
    DeviceKind,
    ReviewState,
    ZoneType,
)

Text120 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def _item(value: str) -> str:
    return "_".join(value.strip().lower().replace("-", " ").split())


PpeItem = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60), AfterValidator(_item)
]


def _tz(value: str) -> str:
    found = zone_name(value)
    if found is None:
        raise ValueError(f"{value!r} is not a time zone; use an IANA name such as America/Denver")
    return found


TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64), AfterValidator(_tz)]


def _items(values: list[str]) -> list[str]:
    return sorted(set(values))  # one spelling per set, so equal sets compare (and group) equal


# -- sites -----------------------------------------------------------------------------------
class EstablishmentFields(BaseModel):
    """What the OSHA 300A and the ITA upload need about the establishment (all optional here)."""

    establishment_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    ein: Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")] | None = Field(
        None, description="9 digits, no dash"
    )
    street_address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    city: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        None, description="2-letter postal code"
    )
    zip: Annotated[str, StringConstraints(pattern=r"^([0-9]{5}|[0-9]{9})$")] | None = Field(
        None, description="5 or 9 digits, no hyphen"
    )
    naics_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")] | None = Field(
        None, description="6-digit NAICS, e.g. 236220"
    )
    industry_description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = (
        None
    )
    establishment_type: Literal[1, 2, 3] | None = Field(
        None, description="ITA: 1 private, 2 state government, 3 local government"
    )
    annual_average_employees: int | None = Field(None, ge=1, le=1_000_000)
    total_hours_worked: int | None = Field(None, ge=1, le=2_000_000_000)


class SiteIn(EstablishmentFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"project_id": 12, "name": "Tower A", "time_zone": "America/Denver", "state": "CO"}]
        },
    )

    project_id: int = Field(description="The FieldBridge project (GET /api/v1/projects) this site is")
    name: Text200
    time_zone: TimeZoneName | None = Field(
        None, description="IANA name; default: the project's, else the company's"
    )


class SitePatch(EstablishmentFields):
    model_config = ConfigDict(extra="forbid")

    name: Text200 | None = None
    time_zone: TimeZoneName | None = None
    active: bool | None = None


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    name: str
    time_zone: str
    active: bool
    establishment_name: str | None
    ein: str | None
    street_address: str | None
    city: str | None
    state: str | None
    zip: str | None
    naics_code: str | None
    industry_description: str | None
    establishment_type: int | None
    annual_average_employees: int | None
    total_hours_worked: int | None
    created_at: datetime
    updated_at: datetime


# -- zones -----------------------------------------------------------------------------------
Point = Annotated[list[float], Field(min_length=2, max_length=2)]


class ZoneFields(BaseModel):
    required_ppe: list[PpeItem] = Field(default_factory=list, max_length=20)
    ppe_start: time | None = Field(None, description="local time PPE is required from (empty: all day)")
    ppe_end: time | None = Field(None, description="local time PPE is required until")
    polygon: list[Point] | None = Field(None, min_length=3, max_length=500, description="[[x, y], ...]")

    @field_validator("required_ppe")
    @classmethod
    def _canonical(cls, values: list[str]) -> list[str]:
        return _items(values)

    @model_validator(mode="after")
    def _window(self) -> "ZoneFields":
        if (self.ppe_start is None) != (self.ppe_end is None):
            raise ValueError("give both ppe_start and ppe_end, or neither (all day)")
        if self.ppe_start is not None and self.ppe_start == self.ppe_end:
            raise ValueError("ppe_start and ppe_end are equal; leave both empty for all day")
        return self


class ZoneIn(ZoneFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Level 3 deck",
                    "type": "ppe_required",
                    "required_ppe": ["hard_hat", "hi_vis_vest"],
                    "ppe_start": "06:00",
                    "ppe_end": "22:00",
                }
            ]
        },
    )

    name: Text120
    type: ZoneType

    @model_validator(mode="after")
    def _ppe(self) -> "ZoneIn":
        if self.type == ZoneType.ppe_required and not self.required_ppe:
            raise ValueError("a ppe_required zone needs at least one required_ppe item")
        return self


class ZonePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text120 | None = None
    type: ZoneType | None = None
    required_ppe: list[PpeItem] | None = Field(None, max_length=20)
    ppe_start: time | None = None
    ppe_end: time | None = None
    polygon: list[Point] | None = Field(None, min_length=3, max_length=500)
    active: bool | None = None


class ZoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    name: str
    type: ZoneType
    required_ppe: list[str]
    ppe_start: time | None
    ppe_end: time | None
    polygon: list[list[float]] | None
    active: bool
    updated_at: datetime


# -- shifts ----------------------------------------------------------------------------------
Weekday = Annotated[int, Field(ge=1, le=7)]


class ShiftIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "Night", "start_time": "22:00", "end_time": "06:00", "days": [1, 2, 3, 4, 5]}
            ]
        },
    )

    name: Text120
    start_time: time = Field(description="local time; an end at or before the start runs overnight")
    end_time: time
    days: list[Weekday] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7], min_length=1, max_length=7)

    @field_validator("days")
    @classmethod
    def _days(cls, values: list[int]) -> list[int]:
        return sorted(set(values))


class ShiftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    name: str
    start_time: time
    end_time: time
    days: list[int]
    updated_at: datetime


# -- worker devices --------------------------------------------------------------------------
class AssignmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"project_id": 12, "worker_id": 31, "device_id": "WB-0042", "kind": "wearable"}]
        },
    )

    project_id: int
    worker_id: int
    device_id: Text120
    kind: DeviceKind
    valid_from: AwareDatetime | None = Field(
        None, description="default: now; ends the device's current holder"
    )


class AssignmentEnd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_to: AwareDatetime | None = Field(None, description="default: now")


class AssignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    worker_id: int
    device_id: str
    kind: DeviceKind
    valid_from: datetime
    valid_to: datetime | None
    updated_at: datetime


# -- detections ------------------------------------------------------------------------------
# A link checked by shape only (http or https, no spaces): cheap enough for 10,000 events a
# second, and it keeps `data:` URLs (the media itself) out.
WebLink = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://[^\s/$.?#][^\s]*$")]


class EvidenceRef(BaseModel):
    """A reference to evidence kept elsewhere: a frame or clip URL and/or its id. Never the media."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["frame", "clip", "snapshot", "other"] = "frame"
    url: WebLink | None = Field(None, description="http(s) link to the frame or clip")
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _something(self) -> "EvidenceRef":
        if self.url is None and self.id is None:
            raise ValueError("give the evidence's url or id")
        return self


DETECTION_EXAMPLE: dict[str, Any] = {
    "event_id": "cam7-2026-12-01T14:03:22.120Z-track91",
    "site_id": 1,
    "zone_id": 3,
    "type": "ppe_violation",
    "missing_items": ["hard_hat"],
    "priority": 3,
    "source": "camera",
    "source_ref": "cam-7",
    "occurred_at": "2026-12-01T07:03:22-07:00",
    "confidence": 0.91,
    "evidence": [{"kind": "frame", "url": "https://edge.example.com/frames/91.jpg", "id": "f-91"}],
}


class DetectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [DETECTION_EXAMPLE]})

    event_id: Text200 = Field(description="the client's id of this event; sending it again is harmless")
    site_id: int
    zone_id: int | None = None
    type: DetectionType
    missing_items: list[PpeItem] = Field(default_factory=list, max_length=20)
    priority: int = Field(3, ge=1, le=5, description="1 lowest, 5 highest")
    source: DetectionSource
    source_ref: Text200 | None = Field(None, description="camera or box id")
    device_id: Text120 | None = Field(
        None, description="wearable or badge id: names the worker by assignment"
    )
    worker_id: int | None = Field(None, description="the worker, when the source knows them")
    occurred_at: AwareDatetime = Field(description="ISO 8601 with its UTC offset")
    confidence: float | None = Field(None, ge=0, le=1)
    description: Note | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=20)

    @field_validator("missing_items")
    @classmethod
    def _canonical(cls, values: list[str]) -> list[str]:
        return _items(values)

    @model_validator(mode="after")
    def _ppe(self) -> "DetectionIn":
        if self.type == DetectionType.ppe_violation and not self.missing_items:
            raise ValueError("a ppe_violation names its missing_items, e.g. ['hard_hat']")
        if self.type != DetectionType.ppe_violation and self.missing_items:
            raise ValueError("missing_items belong to ppe_violation events only")
        return self


class BatchIn(BaseModel):
    """Up to 1,000 events. Each is checked on its own: good rows are stored, bad rows answered."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"events": [DETECTION_EXAMPLE]}]})

    events: list[DetectionIn] = Field(
        description="at most 1,000 events, each as POST /api/v1/detections takes"
    )


def batch_request_schema() -> dict[str, Any]:
    """The OpenAPI request body of the batch route, which reads its raw body itself (one
    validating parse from bytes; row-by-row only when a row is bad)."""
    schema = BatchIn.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


class FieldProblem(BaseModel):
    field: str
    problem: str


class RowResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "error"]
    id: int | None = None
    event_id: str | None = None
    errors: list[FieldProblem] | None = None


class BatchOut(BaseModel):
    created: int
    duplicates: int
    errors: int
    results: list[RowResult]


class ReviewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    actor: str
    at: datetime
    from_state: str | None
    to_state: str
    note: str | None


class DetectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str = Field(validation_alias=AliasChoices("client_event_id", "event_id"))
    site_id: int
    zone_id: int | None
    type: DetectionType
    missing_items: list[str]
    priority: int
    source: DetectionSource
    source_ref: str | None
    device_id: str | None
    worker_id: int | None
    occurred_at: datetime
    confidence: float | None
    description: str | None
    evidence: list[dict[str, Any]]
    state: ReviewState
    received_at: datetime
    updated_at: datetime


class DetectionDetail(DetectionOut):
    reviews: list[ReviewOut] = Field(default_factory=list)


class DetectionAccepted(DetectionOut):
    status: Literal["created", "duplicate"]


class ReviewIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"to": "false_positive", "note": "Reflection on the window"}]},
    )

    to: ReviewState
    note: Note | None = None


# -- observations ----------------------------------------------------------------------------
class ObservationIn(BaseModel):
    """People a camera saw in a PPE zone (de-duplicated tracks): the opportunities of the rate."""

    model_config = ConfigDict(extra="forbid")

    event_id: Text200
    site_id: int
    zone_id: int
    observed_at: AwareDatetime
    persons: int = Field(ge=1, le=10_000)
    source_ref: Text200 | None = None


class ObservationBatchIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "observations": [
                        {
                            "event_id": "cam7-track91",
                            "site_id": 1,
                            "zone_id": 3,
                            "observed_at": "2026-12-01T07:03:00-07:00",
                            "persons": 1,
                        }
                    ]
                }
            ]
        }
    )

    observations: list[dict[str, Any]]


# -- summaries -------------------------------------------------------------------------------
class SummaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: date


class SummaryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_id: int
    local_date: date
    version: int
    computed_at: datetime
    data: dict[str, Any]
