"""Daily KPI rollups (orders, tickets, survey answers, scored inbound interactions) kept by
statement-level triggers on their source tables, in the transaction of each write, and filled
from the rows already there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 01:09:13.307395
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_api.models.rollup import Rollup

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _day(column: str) -> tuple[str, str]:
    return ("day", f"({column} AT TIME ZONE 'UTC')::date")


ROLLUPS = (
    Rollup(
        "order_days",
        "orders",
        (
            ("workspace_id", "workspace_id"),
            _day("placed_at"),
            ("currency", "currency"),
            ("status", "status"),
        ),
        (("orders", "1"), ("total", "total")),
    ),
    Rollup(
        "ticket_days",
        "tickets",
        (
            ("workspace_id", "workspace_id"),
            _day("created_at"),
            ("channel", "channel"),
            ("priority", "priority"),
            ("assignee_id", "assignee_id"),
        ),
        (
            ("tickets", "1"),
            ("with_policy", "(sla_policy_id IS NOT NULL)::int"),
            ("breached", "(sla_policy_id IS NOT NULL AND sla_breached_at IS NOT NULL)::int"),
        ),
        nullable=("assignee_id",),
    ),
    Rollup(
        "survey_days",
        "survey_responses",
        (("workspace_id", "workspace_id"), _day("responded_at"), ("kind", "kind")),
        (
            ("responses", "1"),
            ("score_sum", "score"),
            ("promoters", "(score >= 9)::int"),
            ("detractors", "(score <= 6)::int"),
        ),
    ),
    Rollup(
        "sentiment_days",
        "interactions",
        (("workspace_id", "workspace_id"), _day("occurred_at"), ("kind", "kind")),
        (("scored", "1"), ("negative", "(sentiment <= -0.05)::int")),
        where="direction = 'inbound' AND sentiment IS NOT NULL",
    ),
)


def upgrade() -> None:
    op.create_table(
        "order_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total", sa.Numeric(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_order_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "uq_order_days", "order_days", ["workspace_id", "day", "currency", "status"], unique=True
    )
    op.create_table(
        "sentiment_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("scored", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("negative", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sentiment_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "uq_sentiment_days", "sentiment_days", ["workspace_id", "day", "kind"], unique=True
    )
    op.create_table(
        "survey_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("responses", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("score_sum", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("promoters", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("detractors", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_survey_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index("uq_survey_days", "survey_days", ["workspace_id", "day", "kind"], unique=True)
    op.create_table(
        "ticket_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("tickets", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("with_policy", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("breached", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ticket_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "uq_ticket_days",
        "ticket_days",
        ["workspace_id", "day", "channel", "priority", "assignee_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    for rollup in ROLLUPS:
        for statement in rollup.installation():
            op.execute(statement)


def downgrade() -> None:
    for rollup in ROLLUPS:
        for statement in rollup.drop():
            op.execute(statement)
    op.drop_index("uq_ticket_days", table_name="ticket_days", postgresql_nulls_not_distinct=True)
    op.drop_table("ticket_days")
    op.drop_index("uq_survey_days", table_name="survey_days")
    op.drop_table("survey_days")
    op.drop_index("uq_sentiment_days", table_name="sentiment_days")
    op.drop_table("sentiment_days")
    op.drop_index("uq_order_days", table_name="order_days")
    op.drop_table("order_days")
