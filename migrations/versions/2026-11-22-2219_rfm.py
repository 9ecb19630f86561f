"""RFM scores per customer, and the workspace settings they use.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 22:19:16.258101
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_rfm",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("last_order_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("segment", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "segment IN ('champions', 'loyal', 'potential_loyalist', 'new_customers', 'promising', 'need_attention', 'at_risk', 'cannot_lose', 'hibernating', 'lost')",
            name=op.f("ck_contact_rfm_segment"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_rfm_contact",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "contact_id", name=op.f("pk_contact_rfm")),
    )
    op.create_index(
        "ix_contact_rfm_monetary",
        "contact_rfm",
        ["workspace_id", "monetary", "contact_id"],
        unique=False,
    )
    op.create_index(
        "ix_contact_rfm_recency",
        "contact_rfm",
        ["workspace_id", "recency_days", "contact_id"],
        unique=False,
    )
    op.create_index(
        "ix_contact_rfm_segment",
        "contact_rfm",
        ["workspace_id", "segment", "contact_id"],
        unique=False,
    )
    op.add_column(
        "workspaces",
        sa.Column("default_currency", sa.String(length=3), nullable=False, server_default="EUR"),
    )
    op.add_column(
        "workspaces",
        sa.Column("rfm_stale", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_workspaces_rfm_stale",
        "workspaces",
        ["id"],
        unique=False,
        postgresql_where=sa.text("rfm_stale"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_workspaces_rfm_stale", table_name="workspaces", postgresql_where=sa.text("rfm_stale")
    )
    op.drop_column("workspaces", "rfm_stale")
    op.drop_column("workspaces", "default_currency")
    op.drop_index("ix_contact_rfm_segment", table_name="contact_rfm")
    op.drop_index("ix_contact_rfm_recency", table_name="contact_rfm")
    op.drop_index("ix_contact_rfm_monetary", table_name="contact_rfm")
    op.drop_table("contact_rfm")
