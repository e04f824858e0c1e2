"""Field mapping: per connection, (category, source key) -> the remote value.

Stand-in written against the seam (the "map" helper owns this module).
"""

from dataclasses import dataclass

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class SafetyFieldMap(IdMixin, TimestampMixin, Base):
    __tablename__ = "safety_field_maps"
    __table_args__ = (UniqueConstraint("connection_id", "category", "source_key"),)

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(String(64))
    remote_value: Mapped[str] = mapped_column(String(64))
    remote_label: Mapped[str] = mapped_column(String(200), default="")
    missing: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True)
class MappedValue:
    remote_value: str
    remote_label: str
    missing: bool


async def resolve(
    session: AsyncSession, connection_id: int, category: str, source_key: str
) -> MappedValue | None:
    row = await session.scalar(
        select(SafetyFieldMap).where(
            SafetyFieldMap.connection_id == connection_id,
            SafetyFieldMap.category == category,
            SafetyFieldMap.source_key == source_key,
        )
    )
    return None if row is None else MappedValue(row.remote_value, row.remote_label, row.missing)
