"""The audit log: who changed which record when, with the changed fields' old and new values.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 01:57:16.356832
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_audit_log_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        "ix_audit_log_actor",
        "audit_log",
        ["workspace_id", "actor_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_occurred_at", "audit_log", ["workspace_id", "occurred_at", "id"], unique=False
    )
    op.create_index(
        "ix_audit_log_record",
        "audit_log",
        ["workspace_id", "record_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_log_record_type",
        "audit_log",
        ["workspace_id", "record_type", "occurred_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_log_record_type", table_name="audit_log")
    op.drop_index("ix_audit_log_record", table_name="audit_log")
    op.drop_index("ix_audit_log_occurred_at", table_name="audit_log")
    op.drop_index("ix_audit_log_actor", table_name="audit_log")
    op.drop_table("audit_log")
