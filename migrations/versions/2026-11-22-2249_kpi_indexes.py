"""Indexes the KPIs need at a million contacts: closed deals and solved tickets by time, and
inbound scored interactions with their score.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 22:49:24.873833
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_deals_closed_at",
        "deals",
        ["workspace_id", "closed_at"],
        unique=False,
        postgresql_where=sa.text("closed_at IS NOT NULL"),
    )
    op.create_index(
        "ix_interactions_inbound_sentiment",
        "interactions",
        ["workspace_id", "occurred_at"],
        unique=False,
        postgresql_include=["sentiment"],
        postgresql_where=sa.text("direction = 'inbound' AND sentiment IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_solved_at",
        "tickets",
        ["workspace_id", "solved_at"],
        unique=False,
        postgresql_where=sa.text("solved_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_tickets_solved_at",
        table_name="tickets",
        postgresql_where=sa.text("solved_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_interactions_inbound_sentiment",
        table_name="interactions",
        postgresql_include=["sentiment"],
        postgresql_where=sa.text("direction = 'inbound' AND sentiment IS NOT NULL"),
    )
    op.drop_index(
        "ix_deals_closed_at", table_name="deals", postgresql_where=sa.text("closed_at IS NOT NULL")
    )
