"""Lead scoring rules, and the score kept on each contact.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 22:27:22.104190
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_scoring_rules",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=100), nullable=True),
        sa.Column("operator", sa.String(length=16), nullable=True),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("interaction_kind", sa.String(length=16), nullable=True),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("within_days", sa.Integer(), nullable=True),
        sa.Column("max_count", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('attribute', 'interaction')", name=op.f("ck_lead_scoring_rules_kind")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_scoring_rules_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_lead_scoring_rules")),
    )
    op.create_index(
        "ix_lead_scoring_rules_created_at",
        "lead_scoring_rules",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.add_column(
        "contacts", sa.Column("lead_score", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_index(
        "ix_contacts_lead_score", "contacts", ["workspace_id", "lead_score", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_lead_score", table_name="contacts")
    op.drop_column("contacts", "lead_score")
    op.drop_index("ix_lead_scoring_rules_created_at", table_name="lead_scoring_rules")
    op.drop_table("lead_scoring_rules")
