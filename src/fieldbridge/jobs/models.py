"""The run key of local-time jobs: one row per (job, project, local date) that has run.

The row is inserted in the same transaction as the job's work (see jobs/service.py): a second
process inserting the same key waits for the first transaction, then finds the row and skips;
if the work fails, the transaction rolls back with its key and a later tick runs it again.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin


class LocalJobRun(IdMixin, Base):
    __tablename__ = "local_job_runs"
    __table_args__ = (UniqueConstraint("job_name", "project_id", "local_date"),)

    job_name: Mapped[str] = mapped_column(String(120))
    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    local_date: Mapped[date]
    # When it was due (HH:MM local on local_date, in UTC) and when it ran, by which process.
    scheduled_at: Mapped[datetime]
    ran_at: Mapped[datetime]
    ran_by: Mapped[str] = mapped_column(String(120))
