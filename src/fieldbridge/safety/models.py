"""Tables of the safety domain: sites, zones, shifts, device assignments, detections, their
review trail, PPE observations (the opportunities behind a compliance rate) and the daily
summary snapshots. Every row belongs to one company.

Times are instants (`UTCDateTime`); which local day or shift an instant belongs to is decided
in the site's IANA zone (`kit/zones.py`), never by the database's clock.
"""

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.clock import utcnow
from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class ZoneType(StrEnum):
    restricted = "restricted"
    ppe_required = "ppe_required"
    hazard = "hazard"


class DeviceKind(StrEnum):
    wearable = "wearable"
    badge = "badge"


class DetectionType(StrEnum):
    ppe_violation = "ppe_violation"
    zone_breach = "zone_breach"
    fall = "fall"
    proximity = "proximity"
    near_miss = "near_miss"
    self_report = "self_report"
    custom = "custom"


class DetectionSource(StrEnum):
    camera = "camera"
    wearable = "wearable"
    person = "person"


class ReviewState(StrEnum):
    new = "new"
    acknowledged = "acknowledged"
    confirmed = "confirmed"
    false_positive = "false_positive"
    resolved = "resolved"


class SafetySite(IdMixin, TimestampMixin, Base):
    """A place that is watched: one FieldBridge project (and through it the Procore or ACC
    project), its IANA time zone, and the establishment facts the OSHA 300A needs."""

    __tablename__ = "safety_sites"
    __table_args__ = (
        UniqueConstraint("project_id"),
        Index("ix_safety_sites_company_updated", "company_id", "updated_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    # OSHA establishment (300A / ITA); nullable until someone fills them in.
    establishment_name: Mapped[str | None] = mapped_column(String(100), default=None)
    ein: Mapped[str | None] = mapped_column(String(9), default=None)
    street_address: Mapped[str | None] = mapped_column(String(100), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    state: Mapped[str | None] = mapped_column(String(2), default=None)
    zip: Mapped[str | None] = mapped_column(String(9), default=None)
    naics_code: Mapped[str | None] = mapped_column(String(6), default=None)
    industry_description: Mapped[str | None] = mapped_column(String(300), default=None)
    establishment_type: Mapped[int | None] = mapped_column(Integer, default=None)  # ITA: 1, 2, 3
    annual_average_employees: Mapped[int | None] = mapped_column(Integer, default=None)
    total_hours_worked: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(default=True)


class SafetyZone(IdMixin, TimestampMixin, Base):
    """An area of a site: restricted, PPE-required (items and, optionally, the local hours in
    which they are required) or a hazard. The polygon is the camera's or map's outline, kept
    as data ([[x, y], ...])."""

    __tablename__ = "safety_zones"
    __table_args__ = (
        UniqueConstraint("site_id", "name"),
        Index("ix_safety_zones_company_updated", "company_id", "updated_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[ZoneType] = mapped_column(String(16))
    required_ppe: Mapped[list[str]] = mapped_column(JSON, default=list)
    # PPE required from..to local time (None = all day); an overnight window wraps midnight.
    ppe_start: Mapped[time | None] = mapped_column(default=None)
    ppe_end: Mapped[time | None] = mapped_column(default=None)
    polygon: Mapped[list[list[float]] | None] = mapped_column(JSON, default=None)
    active: Mapped[bool] = mapped_column(default=True)


class SafetyShift(IdMixin, TimestampMixin, Base):
    """A shift in the site's local time on the given ISO weekdays (1 = Monday). A shift that
    ends at or before it starts runs overnight and belongs to the date it starts on."""

    __tablename__ = "safety_shifts"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    start_time: Mapped[time]
    end_time: Mapped[time]
    days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [1, 2, 3, 4, 5, 6, 7])


class WorkerDevice(IdMixin, TimestampMixin, Base):
    """A wearable or badge given to a worker on a project, for [valid_from, valid_to). Rows are
    never rewritten: a reassignment ends one row and starts another, so an event is attributed
    to whoever held the device when it happened."""

    __tablename__ = "worker_devices"
    __table_args__ = (
        Index("ix_worker_devices_lookup", "company_id", "project_id", "device_id", "valid_from"),
        Index("ix_worker_devices_company_updated", "company_id", "updated_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("workers.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[DeviceKind] = mapped_column(String(16))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None] = mapped_column(default=None)


class Detection(IdMixin, Base):
    """One safety event from a camera, a wearable or a person. The client's event id is unique
    per company, so a resend is harmless. Evidence is references only (URLs, frame or clip ids)."""

    __tablename__ = "detections"
    __table_args__ = (
        UniqueConstraint("company_id", "client_event_id"),
        Index("ix_detections_site_occurred", "site_id", "occurred_at"),
        Index("ix_detections_company_updated", "company_id", "updated_at", "id"),
        Index("ix_detections_company_state", "company_id", "state", "id"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("safety_zones.id", ondelete="SET NULL"), default=None, index=True
    )
    client_event_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[DetectionType] = mapped_column(String(16))
    missing_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    priority: Mapped[int] = mapped_column(Integer)
    source: Mapped[DetectionSource] = mapped_column(String(16))
    source_ref: Mapped[str | None] = mapped_column(String(200), default=None)  # camera or device id
    device_id: Mapped[str | None] = mapped_column(String(120), default=None)
    worker_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None, index=True
    )
    occurred_at: Mapped[datetime]
    # The offset the client sent with occurred_at, in minutes (kept for display; the instant is UTC).
    utc_offset_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    confidence: Mapped[float | None] = mapped_column(default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    state: Mapped[ReviewState] = mapped_column(String(16), default=ReviewState.new)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DetectionReview(IdMixin, Base):
    """The audit trail of a detection's review: who moved it from which state to which, when,
    and why."""

    __tablename__ = "detection_reviews"

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    detection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("detections.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    actor: Mapped[str] = mapped_column(String(200))  # a user's name, "api key <name>", "clock-out"
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)


class PpeObservation(IdMixin, Base):
    """People a camera saw in a PPE zone (tracked persons, de-duplicated over the client's
    dwell window): the opportunities a PPE compliance rate divides by. Without them the rate
    is undefined, never invented from alert counts."""

    __tablename__ = "ppe_observations"
    __table_args__ = (
        UniqueConstraint("company_id", "client_event_id"),
        Index("ix_ppe_observations_site_observed", "site_id", "observed_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"))
    zone_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_zones.id", ondelete="CASCADE"), index=True)
    client_event_id: Mapped[str] = mapped_column(String(200))
    observed_at: Mapped[datetime]
    persons: Mapped[int] = mapped_column(Integer)
    source_ref: Mapped[str | None] = mapped_column(String(200), default=None)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class SafetySummary(IdMixin, Base):
    """The daily safety summary of a site and local date, as computed at `computed_at`. Each
    computation is a new version; the later Procore, ACC and webhook deliveries carry one."""

    __tablename__ = "safety_summaries"
    __table_args__ = (
        UniqueConstraint("site_id", "local_date", "version"),
        Index("ix_safety_summaries_company_computed", "company_id", "computed_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    version: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class SummaryRoute(StrEnum):
    native = "native"  # the platform's own daily record (Procore: a notes log entry)
    comment = "comment"  # a comment on an issue (ACC only)
    off = "off"


class SafetySiteLink(IdMixin, TimestampMixin, Base):
    """A safety site seen through one connection: the synced remote project its incidents,
    observations and daily summary go to, and the per-link rules (threshold, push-all, fold
    window, summary time in the site's zone and route). One link per (site, connection);
    `enabled` limits the integration to a subset of projects."""

    __tablename__ = "safety_site_links"
    __table_args__ = (UniqueConstraint("site_id", "connection_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    remote_project_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    observation_threshold: Mapped[int] = mapped_column(Integer, default=3)  # priority 1..5
    push_all: Mapped[bool] = mapped_column(default=False)
    fold_window_s: Mapped[int] = mapped_column(Integer, default=900)
    summary_time: Mapped[time] = mapped_column(default=time(17, 0))  # site-local
    summary_enabled: Mapped[bool] = mapped_column(default=True)
    summary_route: Mapped[str] = mapped_column(String(16), default=SummaryRoute.native)
    # What the connector said of the project's safety tools at `tools_checked_at`:
    # capability -> None (usable) or the plain reason ("tool not enabled", "no permission", ...).
    tool_status: Mapped[dict[str, str | None]] = mapped_column(JSON, default=dict)
    tools_checked_at: Mapped[datetime | None] = mapped_column(default=None)


class SafetyFieldMap(IdMixin, TimestampMixin, Base):
    """One edited field-mapping entry of a connection: (category, source key) -> a remote
    value. Entries not edited follow the connector's defaults. `missing` is set when the value
    was not among those the remote company offered at the last refresh (`checked_at`)."""

    __tablename__ = "safety_field_maps"
    __table_args__ = (UniqueConstraint("connection_id", "category", "source_key"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(String(64))
    remote_value: Mapped[str] = mapped_column(String(64))
    remote_label: Mapped[str] = mapped_column(String(200))
    missing: Mapped[bool] = mapped_column(default=False)
    checked_at: Mapped[datetime | None] = mapped_column(default=None)


class SafetyRemoteValue(IdMixin, Base):
    """The values a connection's remote company offers for a mapping category, as last
    fetched (`fetched_at`); a refresh replaces a category's set."""

    __tablename__ = "safety_remote_values"
    __table_args__ = (UniqueConstraint("connection_id", "category", "remote_value"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    remote_value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
