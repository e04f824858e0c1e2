"""sign-in hardening: throttle rows counted atomically, device token lifetime, per-company emails

Revision ID: 0006_sign_in
Revises: 0005_timekeeping
Create Date: 2026-12-01 02:40:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import fieldbridge.kit.db

revision: str = "0006_sign_in"
down_revision: str | Sequence[str] | None = "0005_timekeeping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tokens that exist at upgrade time get the default lifetime from now on.
_EXISTING_TOKEN_DAYS = 30


def upgrade() -> None:
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_failures_key_at")
    op.drop_table("sign_in_failures")
    op.create_table(
        "sign_in_throttles",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_sign_in_throttles_key")),
    )

    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
    expires = datetime.now(UTC) + timedelta(days=_EXISTING_TOKEN_DAYS)
    op.execute(
        sa.text("UPDATE device_tokens SET expires_at = :at").bindparams(
            sa.bindparam("at", expires, type_=fieldbridge.kit.db.UTCDateTime(timezone=True))
        )
    )
    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "expires_at", existing_type=fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_email", type_="unique")
        batch_op.create_unique_constraint(op.f("uq_users_company_id_email"), ["company_id", "email"])
        batch_op.create_index(batch_op.f("ix_users_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_email"))
        batch_op.drop_constraint(op.f("uq_users_company_id_email"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_users_email"), ["email"])

    with op.batch_alter_table("device_tokens", schema=None) as batch_op:
        batch_op.drop_column("expires_at")

    op.drop_table("sign_in_throttles")
    op.create_table(
        "sign_in_failures",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failed_at", fieldbridge.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    with op.batch_alter_table("sign_in_failures", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_failures_key_at", ["key", "failed_at"], unique=False)
