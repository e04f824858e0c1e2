"""PLACEHOLDER so this branch's chain resolves: the "inc" helper's migration of the same
revision replaces this file at merge (it adds nothing here).

Revision ID: 0019_incident_sync
Revises: 0018_safety_links
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

revision: str = "0019_incident_sync"
down_revision: str | Sequence[str] | None = "0018_safety_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
