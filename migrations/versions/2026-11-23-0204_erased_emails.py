"""Erased people's email hashes, so that an erased person is not re-imported by accident.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 02:04:26.482684
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_emails",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("email_hash", sa.LargeBinary(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_erased_emails_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "email_hash", name=op.f("pk_erased_emails")),
    )


def downgrade() -> None:
    op.drop_table("erased_emails")
