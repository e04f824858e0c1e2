"""Pydantic I/O of the timekeeping API."""

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from fieldbridge.timekeeping.allocation import SplitMode
from fieldbridge.timekeeping.models import GeofenceMode, ShiftStatus, TimeEntryMode

ClientId = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
MAX_ID = 2**63 - 1  # BIGINT
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(value: datetime | None) -> datetime | None:
    """A time between 2000 and 2100, as the instant in UTC (whatever offset it was sent with)."""
    if value is None:
        return None
    if not EARLIEST <= value <= LATEST:
        raise ValueError("must be between 2000 and 2100; check the phone's date")
    return value.astimezone(UTC)


When = Annotated[AwareDatetime, AfterValidator(_plausible)]
Day = Annotated[date, Query(ge=EARLIEST.date(), le=LATEST.date(), description="a day between 2000 and 2100")]


class Location(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)


class Member(BaseModel):
    worker_id: int = Field(ge=1, le=MAX_ID)
    shift_id: str = ClientId


class ClockIn(BaseModel):
    """One clock-in action from a phone: the signed-in worker, or a foreman for a crew."""

    id: str = ClientId
    milestone_id: int = Field(ge=1, le=MAX_ID)
    started_at: When
    members: list[Member] = Field(min_length=1, max_length=50)
    location: Location | None = None


class SplitLine(BaseModel):
    milestone_id: int = Field(ge=1, le=MAX_ID)
    value: str = Field(max_length=12, description="hours (e.g. 3.5) or percent (e.g. 40), two decimals")


class Split(BaseModel):
    mode: SplitMode = SplitMode.hours
    lines: list[SplitLine] = Field(min_length=1, max_length=20)


class ClockOut(BaseModel):
    id: str = ClientId
    shift_ids: list[str] = Field(min_length=1, max_length=50)
    ended_at: When
    break_minutes: int = Field(default=0, ge=0, le=24 * 60)
    injured: bool
    split: Split | None = Field(
        default=None, description="the same split for every shift; omit = all on the clock-in milestone"
    )
    per_shift: dict[str, Split] = Field(default_factory=dict, description="overrides by shift id")
    location: Location | None = None


class AllocationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    milestone_id: int
    hours: str
    label: str


class ShiftOut(BaseModel):
    id: int
    shift_id: str
    clock_in_id: str
    worker_id: int
    worker_name: str
    clocked_in_by: str | None
    project_id: int
    milestone_id: int
    place: str
    work_date: date = Field(description="the day the shift started, in `time_zone`")
    time_zone: str = Field(
        description="tz-database zone of the shift's date and times: its project's, else the company's"
    )
    started_at: datetime
    ended_at: datetime | None
    break_minutes: int
    hours: str | None
    injured: bool | None
    status: ShiftStatus
    geofence_note: str | None
    allocations: list[AllocationOut]
    export_state: Literal["sent", "waiting", "held", "not_sent", "none"]
    export_status: str = Field(description="for the office: the reason and what to do")
    # Why the export waits (time policy, project access, Procore person), when it is held.
    held_reasons: list[str] = Field(default_factory=list)
    worker_state: Literal["sent", "waiting", "held", "correction_held", "clock_out_held"]
    worker_status: str = Field(description="for the worker's phone: never a setup step")
    corrected: bool
    correction_note: str | None


class ClockResult(BaseModel):
    shifts: list[ShiftOut]
    warnings: list[str] = Field(default_factory=list)
    replayed: bool = False


class Capability(BaseModel):
    clock_in: bool
    message: str | None


class PickerMilestone(BaseModel):
    id: int
    name: str
    key: str
    recent: bool = False


class PickerSubJob(BaseModel):
    id: int | None
    name: str
    milestones: list[PickerMilestone]


class PickerProject(BaseModel):
    id: int
    name: str
    recent: bool = False
    sub_jobs: list[PickerSubJob]


class PickerWorker(BaseModel):
    id: int
    name: str
    on_clock: bool


class Picker(BaseModel):
    projects: list[PickerProject]
    workers: list[PickerWorker]


class Correction(BaseModel):
    started_at: When | None = None
    ended_at: When | None = None
    break_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    split: Split | None = None
    note: str = Field(min_length=1, max_length=500, description="why; shown to the worker and in the audit")


class MilestoneProgress(BaseModel):
    milestone_id: int
    label: str
    hours_used: str
    hours_budgeted: str | None
    percent_used: float | None


class TimePolicyIn(BaseModel):
    """A company's time policy; a shift outside it is held for an admin's approval."""

    max_days_back: int = Field(
        default=7, ge=0, le=366, description="days a clock-in or clock-out may lie in the past"
    )
    max_minutes_ahead: int = Field(
        default=15, ge=0, le=1440, description="minutes a clock-in or clock-out may lie in the future"
    )
    max_shift_hours: int = Field(default=16, ge=1, le=168, description="the longest shift, in hours")
    hold_overlaps: bool = Field(default=True, description="hold a shift overlapping the worker's others")


class ProjectTimeSettingsIn(BaseModel):
    time_entry_mode: TimeEntryMode = TimeEntryMode.hours
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    radius_m: int = Field(default=300, ge=50, le=50_000)
    geofence_mode: GeofenceMode = GeofenceMode.warn


class ProjectTimeSettingsOut(ProjectTimeSettingsIn):
    model_config = ConfigDict(from_attributes=True)

    project_id: int
