"""Tables of the sites domain: what FieldBridge mirrors from Procore, per connection.

External ids (Procore's) are strings, as every other platform's id is: Procore's are big
integers, other platforms' are not numbers at all. Milestones are never deleted, only
archived, because time rows reference them.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class SyncState(StrEnum):
    off = "off"  # not tracked
    queued = "queued"
    running = "running"
    synced = "synced"
    failed = "failed"


class Project(IdMixin, TimestampMixin, Base):
    """A Procore project (FieldBridge's parent job) seen through one connection."""

    __tablename__ = "projects"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        Index("ix_projects_company_sync", "company_id", "sync_enabled"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    display_name: Mapped[str | None] = mapped_column(String(300), default=None)
    project_number: Mapped[str | None] = mapped_column(String(100), default=None)
    address: Mapped[str | None] = mapped_column(String(300), default=None)
    city: Mapped[str | None] = mapped_column(String(120), default=None)
    time_zone: Mapped[str | None] = mapped_column(String(100), default=None)
    stage: Mapped[str | None] = mapped_column(String(100), default=None)
    active: Mapped[bool] = mapped_column(default=True)  # Procore's `active`
    permitted: Mapped[bool] = mapped_column(default=True)  # the app may see it (App Management)
    removed: Mapped[bool] = mapped_column(default=False)  # gone from Procore
    # Why the project cannot be synced now (inactive, not permitted, removed); None = syncable.
    excluded_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    # When FieldBridge learned it (a sync, a webhook, or a refused delivery); None = syncable.
    excluded_since: Mapped[datetime | None] = mapped_column(default=None)
    sync_enabled: Mapped[bool] = mapped_column(default=False)
    sync_state: Mapped[SyncState] = mapped_column(String(16), default=SyncState.off)
    sync_progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sync_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_synced_at: Mapped[datetime | None] = mapped_column(default=None)
    # Start of the last successful sync: the next one asks Procore only for what changed since.
    synced_through: Mapped[datetime | None] = mapped_column(default=None)
    budget_view_id: Mapped[str | None] = mapped_column(String(64), default=None)

    @property
    def excluded_why(self) -> str | None:
        """The sync page's line: "inactive in Procore since 2026-12-01 14:05 UTC", ..."""
        if self.excluded_reason is None:
            return None
        since = f" since {self.excluded_since:%Y-%m-%d %H:%M} UTC" if self.excluded_since else ""
        if self.removed:
            return f"gone from Procore{since}: {self.excluded_reason}"
        if not self.permitted:
            return f"FieldBridge lost access{since}: {self.excluded_reason}"
        return f"inactive in Procore{since}"


class SubJob(IdMixin, TimestampMixin, Base):
    __tablename__ = "sub_jobs"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(100), default=None)
    archived: Mapped[bool] = mapped_column(default=False)


class LineItemType(IdMixin, TimestampMixin, Base):
    """A Procore category (cost type). `labor` defaults to `base_type == "labor"`."""

    __tablename__ = "line_item_types"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(50), default=None)
    base_type: Mapped[str | None] = mapped_column(String(50), default=None)
    labor_override: Mapped[bool | None] = mapped_column(default=None)  # the admin's choice, if any

    @property
    def labor(self) -> bool:
        return self.labor_override if self.labor_override is not None else self.base_type == "labor"


class CostCode(IdMixin, TimestampMixin, Base):
    __tablename__ = "cost_codes"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    code: Mapped[str | None] = mapped_column(String(100), default=None)
    full_code: Mapped[str | None] = mapped_column(String(200), default=None)
    sub_job_external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    line_item_type_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    archived: Mapped[bool] = mapped_column(default=False)


class Milestone(IdMixin, TimestampMixin, Base):
    """One budget line (cost code x category) of a project: what a worker clocks time to."""

    __tablename__ = "milestones"
    __table_args__ = (
        UniqueConstraint("project_id", "key"),
        Index("ix_milestones_company_project", "company_id", "project_id"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    sub_job_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("sub_jobs.id", ondelete="SET NULL"))
    # procore:budget_line:cc:<cost_code_id>:cat:<line_item_type_id>
    key: Mapped[str] = mapped_column(String(120))
    cost_code_external_id: Mapped[str] = mapped_column(String(64))
    line_item_type_external_id: Mapped[str] = mapped_column(String(64))
    budget_line_item_id: Mapped[str | None] = mapped_column(String(64), default=None)
    wbs_code_id: Mapped[str | None] = mapped_column(String(64), default=None)
    name: Mapped[str] = mapped_column(String(400))  # from Procore: "03-100 Concrete Forming · Labor"
    display_name: Mapped[str | None] = mapped_column(String(400), default=None)  # the admin's name
    budgeted_hours: Mapped[float | None] = mapped_column(Float, default=None)
    budgeted_amount: Mapped[float | None] = mapped_column(Float, default=None)
    budgeted: Mapped[bool] = mapped_column(default=True)
    hidden: Mapped[bool] = mapped_column(default=False)
    archived: Mapped[bool] = mapped_column(default=False)
    archived_reason: Mapped[str | None] = mapped_column(String(300), default=None)

    @property
    def label(self) -> str:
        return self.display_name or self.name


class Location(IdMixin, TimestampMixin, Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("project_id", "external_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(400))
    node_name: Mapped[str | None] = mapped_column(String(200), default=None)
    parent_external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    code: Mapped[str | None] = mapped_column(String(100), default=None)


class MatchMethod(StrEnum):
    email = "email"
    employee_id = "employee_id"
    name = "name"
    manual = "manual"
    created = "created"  # the worker was created from this person


class ProcorePerson(IdMixin, TimestampMixin, Base):
    """A Procore person (`party_id` on timecards) and the FieldBridge worker it is."""

    __tablename__ = "procore_people"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        Index("ix_procore_people_company_worker", "company_id", "worker_id"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(64))  # the party_id
    name: Mapped[str] = mapped_column(String(300))
    first_name: Mapped[str | None] = mapped_column(String(150), default=None)
    last_name: Mapped[str | None] = mapped_column(String(150), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    employee_id: Mapped[str | None] = mapped_column(String(64), default=None)
    is_employee: Mapped[bool] = mapped_column(default=False)
    procore_user_id: Mapped[str | None] = mapped_column(String(64), default=None)
    job_title: Mapped[str | None] = mapped_column(String(200), default=None)
    active: Mapped[bool] = mapped_column(default=True)
    worker_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("workers.id", ondelete="SET NULL"))
    match_method: Mapped[MatchMethod | None] = mapped_column(String(16), default=None)
    # A match whose name or email contradicts it is not a link: an admin confirms or chooses.
    suggested_worker_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None
    )
    conflict: Mapped[str | None] = mapped_column(String(300), default=None)
