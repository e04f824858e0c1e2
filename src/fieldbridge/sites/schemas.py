"""Pydantic I/O of the sites domain."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fieldbridge.sites.models import MatchMethod, SyncState


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    external_id: str = Field(description="Procore project id (ids of other platforms are strings)")
    name: str
    display_name: str | None
    project_number: str | None
    city: str | None
    time_zone: str | None
    stage: str | None
    active: bool
    permitted: bool
    removed: bool
    excluded_reason: str | None = Field(
        description="Why it cannot be synced (inactive, not permitted, removed)"
    )
    excluded_since: datetime | None = Field(
        default=None, description="When FieldBridge learned it (sync, webhook or a refused delivery)"
    )
    excluded_why: str | None = Field(
        default=None, description="What the sync page says, e.g. 'inactive in Procore since <when> UTC.'"
    )
    sync_enabled: bool
    sync_state: SyncState
    sync_progress: dict[str, Any]
    sync_error: str | None
    last_synced_at: datetime | None


class SyncToggleIn(BaseModel):
    project_ids: list[int] = Field(min_length=1, max_length=1000)
    enabled: bool


class SyncToggleOut(BaseModel):
    changed: int
    skipped: list[dict[str, Any]] = Field(
        default_factory=list, description="excluded projects, with the reason"
    )


class MilestoneOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    sub_job_id: int | None
    key: str
    name: str
    display_name: str | None
    label: str
    cost_code_external_id: str
    line_item_type_external_id: str
    budgeted: bool
    budgeted_hours: float | None
    budgeted_amount: float | None
    hidden: bool
    archived: bool
    archived_reason: str | None


class MilestonePatch(BaseModel):
    display_name: str | None = Field(None, max_length=400, description="empty string clears it")
    hidden: bool | None = None


class CategoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str = Field(description="Procore line item type id (a string)")
    name: str
    code: str | None
    base_type: str | None
    labor: bool
    labor_override: bool | None


class CategoryPatch(BaseModel):
    labor: bool | None = Field(description="true/false to override; null to follow the base type (labor)")


class TreeMilestone(BaseModel):
    id: int
    name: str
    key: str
    budgeted_hours: float | None


class TreeSubJob(BaseModel):
    id: int | None = Field(description="null: the project itself (no sub job)")
    name: str
    milestones: list[TreeMilestone]


class TreeProject(BaseModel):
    id: int
    name: str
    project_number: str | None
    sub_jobs: list[TreeSubJob]


class MilestoneTree(BaseModel):
    """Parent job (project) -> sub job -> milestone, for the clock-in picker."""

    projects: list[TreeProject]


class PersonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    external_id: str = Field(description="Procore person id: the timecard party_id (a string)")
    name: str
    email: str | None
    employee_id: str | None
    job_title: str | None
    is_employee: bool
    active: bool
    worker_id: int | None
    match_method: MatchMethod | None
    suggested_worker_id: int | None = Field(
        description="a worker this person may be, whose name or email contradicts it: confirm or choose"
    )
    conflict: str | None = Field(description="what disagrees between the person and the suggested worker")


class PersonPatch(BaseModel):
    worker_id: int | None = Field(
        description="the worker this person is; null unlinks (and stops auto-matching)"
    )


class CreateWorkersIn(BaseModel):
    person_ids: list[int] = Field(min_length=1, max_length=1000)


class CreateWorkersOut(BaseModel):
    created: int


class SyncJobOut(BaseModel):
    """The connection's last requested sync ("sync now"), run as a job after the request."""

    connection_id: int
    state: Literal["none", "queued", "running", "done", "failed"]
    discover_only: bool = False  # only list the company's projects (no tracked-project sync)
    requested_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    projects_synced: int | None = None


ProjectView = Literal["tracked", "available", "excluded", "all"]
