"""Site links: which synced remote project a safety site goes to, per connection, and the
outbound settings of that pair (threshold, push-all, fold window, summary time and route).

Stand-in written against the seam (the "map" helper owns this module): the table, the
`LinkTarget` view and `targets`/`kind_for` as the seam states them.
"""

from dataclasses import dataclass
from datetime import time

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from fieldbridge.connections.connector import Capability, installed_registry
from fieldbridge.connections.models import Connection, ConnectionStatus
from fieldbridge.kit.db import Base, BigId, IdMixin, TimestampMixin


class SafetySiteLink(IdMixin, TimestampMixin, Base):
    __tablename__ = "safety_site_links"
    __table_args__ = (UniqueConstraint("site_id", "connection_id"),)

    company_id: Mapped[int] = mapped_column(BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("safety_sites.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("connections.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(BigId, ForeignKey("projects.id", ondelete="CASCADE"))
    remote_project_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    observation_threshold: Mapped[int] = mapped_column(Integer, default=3)
    push_all: Mapped[bool] = mapped_column(default=False)
    fold_window_s: Mapped[int] = mapped_column(Integer, default=900)
    summary_time: Mapped[time] = mapped_column(default=time(17, 0))
    summary_enabled: Mapped[bool] = mapped_column(default=True)
    summary_route: Mapped[str] = mapped_column(String(16), default="native")


@dataclass(frozen=True)
class LinkTarget:
    link_id: int
    site_id: int
    connection_id: int
    provider: str
    remote_project_id: str
    observation_threshold: int
    push_all: bool
    fold_window_s: int
    summary_time: time
    summary_enabled: bool
    summary_route: str


async def targets(
    session: AsyncSession, company_id: int, site_id: int, capability: Capability
) -> list[LinkTarget]:
    """Enabled links of the site whose connection is active and whose connector has `capability`."""
    rows = await session.execute(
        select(SafetySiteLink, Connection.provider)
        .join(Connection, Connection.id == SafetySiteLink.connection_id)
        .where(
            SafetySiteLink.company_id == company_id,
            SafetySiteLink.site_id == site_id,
            SafetySiteLink.enabled.is_(True),
            Connection.status == ConnectionStatus.connected,
        )
        .order_by(SafetySiteLink.id)
    )
    specs = installed_registry().specs
    return [
        LinkTarget(
            link.id,
            link.site_id,
            link.connection_id,
            provider,
            link.remote_project_id,
            link.observation_threshold,
            link.push_all,
            link.fold_window_s,
            link.summary_time,
            link.summary_enabled,
            link.summary_route,
        )
        for link, provider in rows.tuples()
        if provider in specs and capability in specs[provider].capabilities
    ]


def kind_for(target: LinkTarget, what: str) -> str:
    return f"{target.provider}.safety.{what}"
