"""Tables of timekeeping. Every row belongs to one company.

A `ClockShift` is one worker's time from clock-in to clock-out. A foreman's crew clock-in makes
one shift per member, all with the same `clock_in_id` (the phone's action id). Shift ids made
by the phone (`client_id`, a UUID) are unique per company, so a phone that re-sends an action
after a lost response changes nothing. One open shift per worker is enforced by a partial
unique index, so two phones racing to clock in the same worker cannot both win.

Milestones and projects live in `sites/`; shifts keep their ids plus a readable `place`
snapshot, and the export keeps a snapshot of the Procore ids in the ledger payload.
"""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class ShiftStatus(StrEnum):
    open = "open"  # on the clock
    closed = "closed"  # clocked out; time allocated
    approved = "approved"  # an admin approved it; corrections need un-approving first


class GeofenceMode(StrEnum):
    warn = "warn"
    block = "block"


class TimeEntryMode(StrEnum):
    hours = "hours"  # Procore "Total Hours": entries carry hours + date
    start_stop = "start_stop"  # Procore "Start/Stop": entries carry time_in/time_out/lunch_time


class ClockShift(IdMixin, TimestampMixin, Base):
    __tablename__ = "clock_shifts"
    __table_args__ = (
        UniqueConstraint("company_id", "client_id"),
        Index(
            "ix_clock_shifts_one_open",
            "company_id",
            "worker_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_clock_shifts_day", "company_id", "work_date"),
        Index("ix_clock_shifts_worker", "company_id", "worker_id", "started_at"),
    )

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(64))
    clock_in_id: Mapped[str] = mapped_column(String(64), index=True)
    worker_id: Mapped[int] = mapped_column(BigId, ForeignKey("workers.id", ondelete="CASCADE"))
    clocked_in_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None
    )
    project_id: Mapped[int] = mapped_column(BigInteger)
    milestone_id: Mapped[int] = mapped_column(BigInteger)
    # "Tower A / Level 2 / 03-100 Concrete · Labor", for messages and the timesheet.
    place: Mapped[str] = mapped_column(String(400))
    # The day the shift started, on the clock of `time_zone`: the project's zone, else the
    # company's (`kit/zones.py`). NULL zone = a shift from before zones were kept (company zone).
    work_date: Mapped[date]
    time_zone: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    break_minutes: Mapped[int] = mapped_column(Integer, default=0)
    worked_centihours: Mapped[int | None] = mapped_column(Integer, default=None)
    injured: Mapped[bool | None] = mapped_column(default=None)
    clock_out_id: Mapped[str | None] = mapped_column(String(64), default=None)
    clocked_out_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("workers.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[ShiftStatus] = mapped_column(String(16), default=ShiftStatus.open)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    geofence_note: Mapped[str | None] = mapped_column(Text, default=None)
    connection_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("connections.id", ondelete="SET NULL"), default=None
    )
    # Ledger subjects this shift has used ("clock_shift:7", "clock_shift:7:m:12"): its export status.
    export_subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    corrected_at: Mapped[datetime | None] = mapped_column(default=None)
    corrected_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    correction_note: Mapped[str | None] = mapped_column(Text, default=None)
    approved_at: Mapped[datetime | None] = mapped_column(default=None)
    approved_by_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class ClockAllocation(IdMixin, Base):
    """The share of one shift's worked time on one milestone; position 0 updates the clock-in entry."""

    __tablename__ = "clock_allocations"
    __table_args__ = (UniqueConstraint("shift_id", "position"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    shift_id: Mapped[int] = mapped_column(BigId, ForeignKey("clock_shifts.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    milestone_id: Mapped[int] = mapped_column(BigInteger, index=True)
    centihours: Mapped[int] = mapped_column(Integer)


class TimePolicy(IdMixin, TimestampMixin, Base):
    """A company's rules for time a phone reports. A shift outside them is stored as sent, and
    its export is held with the reason until an admin approves or corrects it. Without a row
    the defaults apply."""

    __tablename__ = "time_policies"
    __table_args__ = (UniqueConstraint("company_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    # How far in the past a clock-in or clock-out may be (an offline phone catching up).
    max_days_back: Mapped[int] = mapped_column(Integer, default=7)
    # How far ahead of the server's clock (phones' clocks drift a little).
    max_minutes_ahead: Mapped[int] = mapped_column(Integer, default=15)
    max_shift_hours: Mapped[int] = mapped_column(Integer, default=16)
    # Hold a shift that overlaps another shift of the same worker.
    hold_overlaps: Mapped[bool] = mapped_column(default=True)


class ProjectTimeSettings(IdMixin, TimestampMixin, Base):
    """Per project: how Procore records its time, and an optional site boundary (a circle)
    outside which clock-ins warn, or are refused in block mode."""

    __tablename__ = "project_time_settings"
    __table_args__ = (UniqueConstraint("company_id", "project_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(BigInteger)
    time_entry_mode: Mapped[TimeEntryMode] = mapped_column(String(16), default=TimeEntryMode.hours)
    latitude: Mapped[float | None] = mapped_column(Float, default=None)
    longitude: Mapped[float | None] = mapped_column(Float, default=None)
    radius_m: Mapped[int] = mapped_column(Integer, default=300)
    geofence_mode: Mapped[GeofenceMode] = mapped_column(String(8), default=GeofenceMode.warn)
