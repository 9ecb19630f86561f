"""?q= on tickets, interactions and tasks: a search column kept by PostgreSQL, trigram-indexed.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEARCHED = {
    "tickets": "lower(subject || ' ' || left(coalesce(description, ''), 1000))",
    "interactions": "lower(coalesce(subject, '') || ' ' || left(coalesce(body, ''), 1000))",
    "tasks": "lower(title || ' ' || left(coalesce(description, ''), 1000))",
}


def upgrade() -> None:
    for table, expression in SEARCHED.items():
        op.add_column(
            table, sa.Column("search_text", sa.Text(), sa.Computed(expression, persisted=True))
        )
        op.create_index(
            f"ix_{table}_search_text",
            table,
            ["workspace_id", "search_text"],
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
        )


def downgrade() -> None:
    for table in SEARCHED:
        op.drop_index(f"ix_{table}_search_text", table_name=table)
        op.drop_column(table, "search_text")
