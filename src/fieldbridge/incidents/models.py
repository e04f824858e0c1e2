"""Tables of incidents and OSHA recordkeeping. Every row belongs to one company.

An `Incident` is what happened to a person at a safety site: when (or that the time is
unknown), where, the injured worker, the injury details, and the recordability decision with
its basis (29 CFR 1904.7). A recordable incident gets an OSHA 300 case number from its site's
`OshaCaseCounter` for the case year: one atomic upsert per allocation, so numbers have no gaps
and no duplicates however many confirmations race (the counter row is locked until commit, and
a rolled-back allocation rolls back its number too). A number once given stays with its
incident; if the case later stops being recordable the log lines it out.

The 301 fields are the report's own questions (what the employee was doing, what happened,
what harmed them, physician, emergency room, hospitalization...). Enumerated columns hold the
values of `incidents.osha` enums.
"""

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.incidents.osha import CaseType, Outcome, PrivacyReason, Treatment
from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class Incident(IdMixin, TimestampMixin, Base):
    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("site_id", "case_year", "case_number"),
        UniqueConstraint("detection_id"),
        Index("ix_incidents_company_updated", "company_id", "updated_at", "id"),
        Index("ix_incidents_site_year", "site_id", "case_year"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    # OSHA records are kept five years (1904.33): a site with incidents cannot be deleted.
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id"))
    zone_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("safety_zones.id", ondelete="SET NULL"), default=None
    )
    detection_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("detections.id", ondelete="SET NULL"), default=None
    )
    # When: the local date at the site, and the instant unless the time cannot be determined.
    occurred_on: Mapped[date]
    occurred_at: Mapped[datetime | None] = mapped_column(default=None)
    time_unknown: Mapped[bool] = mapped_column(default=False)
    location: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # Who: a worker of the company, or a name typed in (a visitor, a temp without a login).
    worker_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None, index=True
    )
    employee_name: Mapped[str | None] = mapped_column(String(200), default=None)
    job_title: Mapped[str] = mapped_column(String(120), default="")
    # What: the injury or illness.
    case_type: Mapped[CaseType] = mapped_column(String(32), default=CaseType.injury)
    body_part: Mapped[str] = mapped_column(String(120), default="")
    nature: Mapped[str] = mapped_column(String(200), default="")
    treatment: Mapped[Treatment] = mapped_column(String(32), default=Treatment.none)
    treatment_notes: Mapped[str] = mapped_column(Text, default="")
    # The facts recordability depends on (incidents.osha.CaseFacts).
    work_related: Mapped[bool] = mapped_column(default=True)
    new_case: Mapped[bool] = mapped_column(default=True)
    died: Mapped[bool] = mapped_column(default=False)
    days_away: Mapped[int] = mapped_column(Integer, default=0)
    days_restricted: Mapped[int] = mapped_column(Integer, default=0)
    loss_of_consciousness: Mapped[bool] = mapped_column(default=False)
    significant_diagnosed: Mapped[bool] = mapped_column(default=False)
    contaminated_sharps: Mapped[bool] = mapped_column(default=False)
    medical_removal: Mapped[bool] = mapped_column(default=False)
    hearing_loss_sts: Mapped[bool] = mapped_column(default=False)
    tuberculosis: Mapped[bool] = mapped_column(default=False)
    privacy_case: Mapped[bool] = mapped_column(default=False)
    privacy_reason: Mapped[PrivacyReason | None] = mapped_column(String(32), default=None)
    # The decision and its basis, recomputed on every change.
    recordable: Mapped[bool] = mapped_column(default=False)
    recordability_basis: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[Outcome | None] = mapped_column(String(32), default=None)  # G-J
    case_number: Mapped[int | None] = mapped_column(Integer, default=None)
    case_year: Mapped[int | None] = mapped_column(Integer, default=None)
    # Form 301.
    employee_address: Mapped[str] = mapped_column(Text, default="")
    date_of_birth: Mapped[date | None] = mapped_column(default=None)
    date_hired: Mapped[date | None] = mapped_column(default=None)
    sex: Mapped[str | None] = mapped_column(String(1), default=None)
    physician_name: Mapped[str] = mapped_column(String(200), default="")
    treatment_facility: Mapped[str] = mapped_column(Text, default="")
    treated_in_emergency_room: Mapped[bool | None] = mapped_column(default=None)
    hospitalized_overnight: Mapped[bool | None] = mapped_column(default=None)
    time_began_work: Mapped[time | None] = mapped_column(default=None)
    before_incident: Mapped[str] = mapped_column(Text, default="")
    what_happened: Mapped[str] = mapped_column(Text, default="")
    object_substance: Mapped[str] = mapped_column(Text, default="")
    date_of_death: Mapped[date | None] = mapped_column(default=None)
    completed_by: Mapped[str] = mapped_column(String(200), default="")
    completed_title: Mapped[str] = mapped_column(String(120), default="")
    completed_phone: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    # Two-way sync (incidents/sync.py): the version of the last payload enqueued for the
    # linked platforms and its digest (a save that changes nothing sent sends nothing), and the
    # fields a safety manager keeps on the platform: the injury's disposition (Procore's
    # `filing_type` vocabulary) and the record's status there ("open"/"closed").
    sync_version: Mapped[int] = mapped_column(Integer, default=0)
    sync_digest: Mapped[str | None] = mapped_column(String(64), default=None)
    disposition: Mapped[str | None] = mapped_column(String(32), default=None)
    remote_status: Mapped[str | None] = mapped_column(String(16), default=None)


class OshaCaseCounter(IdMixin, Base):
    """The last case number given at a site (the OSHA establishment) in a year."""

    __tablename__ = "osha_case_counters"
    __table_args__ = (UniqueConstraint("site_id", "year"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class IncidentRemote(IdMixin, TimestampMixin, Base):
    """An incident as delivered through one connection: the remote record's id and version,
    and `synced`, the value of each two-way field both sides last agreed on (what FieldBridge
    sent, or what it applied from the platform). A field that differs from `synced` on both
    sides is a conflict (`IncidentConflict`)."""

    __tablename__ = "incident_remotes"
    __table_args__ = (
        UniqueConstraint("incident_id", "connection_id"),
        Index("ix_incident_remotes_connection_remote", "connection_id", "remote_id"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    remote_project_id: Mapped[str] = mapped_column(String(64))
    remote_id: Mapped[str | None] = mapped_column(String(64), default=None)
    remote_version: Mapped[str | None] = mapped_column(String(64), default=None)
    synced: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pulled_at: Mapped[datetime | None] = mapped_column(default=None)


class IncidentConflict(IdMixin, Base):
    """A field both sides changed since they last agreed (or the platform changed a field
    FieldBridge owns): both values, which side's value stands, shown on the incident until a
    person dismisses it."""

    __tablename__ = "incident_conflicts"
    __table_args__ = (Index("ix_incident_conflicts_incident", "incident_id", "resolved_at"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int] = mapped_column(BigId, ForeignKey("incidents.id", ondelete="CASCADE"))
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(64))
    ours: Mapped[str | None] = mapped_column(Text, default=None)
    theirs: Mapped[str | None] = mapped_column(Text, default=None)
    kept: Mapped[str] = mapped_column(String(16))  # "fieldbridge" | "remote": whose value stands
    detected_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class IncidentPullCursor(IdMixin, Base):
    """Where the reconcile pass of one remote project got to: records changed since
    `changed_since` are listed on the next pass (covers webhooks that never arrived)."""

    __tablename__ = "incident_pull_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "remote_project_id"),)

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    remote_project_id: Mapped[str] = mapped_column(String(64))
    changed_since: Mapped[datetime]
