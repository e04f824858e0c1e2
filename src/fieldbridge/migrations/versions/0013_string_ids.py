"""string ids: every id of another platform is a string (Procore's big integers, Autodesk's
"b.1234-..."), rows kept

PostgreSQL: `ALTER COLUMN ... TYPE varchar(64) USING col::text`, in place (indexes and unique
constraints are rebuilt by the server). SQLite: a batch copy-and-move per table, the values
CAST to text on the way (the environment turns foreign keys off around migrations on SQLite,
so moving a parent table such as `projects` cascades to nothing). The JSON list
`cost_codes.line_item_type_ids` becomes a list of strings too.

Downgrade turns them back into BIGINT; it fails on a value that is not a number (an id of a
platform whose ids are not numbers has nowhere to go).

Revision ID: 0013_string_ids
Revises: 0012_jobs
Create Date: 2026-12-01 05:45:00.000000
"""

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013_string_ids"
down_revision: str | Sequence[str] | None = "0012_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, nullable)
COLUMNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "connections": (("external_account_id", True),),
    "deliveries": (("remote_project_id", True), ("remote_id", True)),
    "projects": (("external_id", False), ("budget_view_id", True)),
    "sub_jobs": (("external_id", False),),
    "line_item_types": (("external_id", False),),
    "cost_codes": (("external_id", False), ("sub_job_external_id", True)),
    "milestones": (
        ("cost_code_external_id", False),
        ("line_item_type_external_id", False),
        ("budget_line_item_id", True),
        ("wbs_code_id", True),
    ),
    "locations": (("external_id", False), ("parent_external_id", True)),
    "procore_people": (("external_id", False), ("procore_user_id", True)),
    "procore_webhook_events": (("resource_id", True), ("project_external_id", True)),
}
STRING = sa.String(length=64)
BIGINT = sa.BigInteger()


def _convert(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], using: str) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, columns in COLUMNS.items():
        if postgresql:
            for column, nullable in columns:
                op.alter_column(
                    table,
                    column,
                    existing_type=old,
                    type_=new,
                    existing_nullable=nullable,
                    postgresql_using=f"{column}::{using}",
                )
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, nullable in columns:
                batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)


def _line_item_type_ids(change: Callable[[Any], Any]) -> None:
    cost_codes = sa.table(
        "cost_codes", sa.column("id", sa.BigInteger()), sa.column("line_item_type_ids", sa.JSON())
    )
    bind = op.get_bind()
    for row_id, ids in bind.execute(sa.select(cost_codes.c.id, cost_codes.c.line_item_type_ids)).all():
        if isinstance(ids, list) and ids:
            bind.execute(
                cost_codes.update()
                .where(cost_codes.c.id == row_id)
                .values(line_item_type_ids=[change(i) for i in ids])
            )


def upgrade() -> None:
    _convert(BIGINT, STRING, "text")
    _line_item_type_ids(str)


def downgrade() -> None:
    _line_item_type_ids(int)
    _convert(STRING, BIGINT, "bigint")
