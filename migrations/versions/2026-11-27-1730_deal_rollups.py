"""Deal rollups for the sales KPIs, kept like the daily ones (migration 0012).

Pipeline value, weighted value, velocity and forecast read every open deal (two thirds of 200k
on the KPI benchmark, 70-120 ms a call); win rate, deal size and sales cycle read a year of
closed ones. `deal_stage_totals` holds the deals not archived per stage, currency, owner,
source and month of expected close; `deal_close_days` the closed ones per UTC day of close
and stage, with their amounts and days to close. The stage's kind, pipeline and probability
are joined at query time, so an edited stage needs no rollup change.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-27 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_api.models.rollup import Rollup

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEAL_KEYS = (
    ("workspace_id", "workspace_id"),
    ("stage_id", "stage_id"),
    ("currency", "currency"),
    ("owner_id", "owner_id"),
    ("source", "source"),
)
ROLLUPS = (
    Rollup(
        "deal_stage_totals",
        "deals",
        (*_DEAL_KEYS, ("close_month", "date_trunc('month', expected_close_date)::date")),
        (("deals", "1"), ("amount", "coalesce(amount, 0)")),
        where="archived_at IS NULL",
        nullable=("currency", "owner_id", "source", "close_month"),
    ),
    Rollup(
        "deal_close_days",
        "deals",
        (("day", "(closed_at AT TIME ZONE 'UTC')::date"), *_DEAL_KEYS),
        (
            ("deals", "1"),
            ("amount", "coalesce(amount, 0)"),
            ("cycle_seconds", "extract(epoch FROM closed_at - created_at)"),
        ),
        where="archived_at IS NULL AND closed_at IS NOT NULL",
        nullable=("currency", "owner_id", "source"),
    ),
)


def _table(name: str, before: list[sa.Column[object]], after: list[sa.Column[object]]) -> None:
    """A deal rollup's table: its own columns before and after the deal keys and sums."""
    op.create_table(
        name,
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        *before,
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("deals", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("amount", sa.Numeric(), server_default="0", nullable=False),
        *after,
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f(f"fk_{name}_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )


def upgrade() -> None:
    _table("deal_stage_totals", [], [sa.Column("close_month", sa.Date(), nullable=True)])
    op.create_index(
        "uq_deal_stage_totals",
        "deal_stage_totals",
        ["workspace_id", "stage_id", "currency", "owner_id", "source", "close_month"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    _table(
        "deal_close_days",
        [sa.Column("day", sa.Date(), nullable=False)],
        [sa.Column("cycle_seconds", sa.Numeric(), server_default="0", nullable=False)],
    )
    op.create_index(
        "uq_deal_close_days",
        "deal_close_days",
        ["workspace_id", "day", "stage_id", "currency", "owner_id", "source"],
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
    op.drop_index(
        "uq_deal_close_days", table_name="deal_close_days", postgresql_nulls_not_distinct=True
    )
    op.drop_table("deal_close_days")
    op.drop_index(
        "uq_deal_stage_totals", table_name="deal_stage_totals", postgresql_nulls_not_distinct=True
    )
    op.drop_table("deal_stage_totals")
