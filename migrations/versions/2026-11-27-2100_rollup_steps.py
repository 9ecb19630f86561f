"""Rollup triggers insert signed steps instead of updating a row per key; the worker sums them.

Each rollup trigger upserted one row per key (a stage's open deals, a day's orders), holding
that row's lock until its transaction committed. Writers of one stage or day waited on each
other, and two transactions that wrote in two orders deadlocked: two deal batches creating
deals in stages A then B and B then A answered 503 to half their requests. The triggers now
only insert the statement's steps (counts and sums, negative for what left), so no writer waits
on another; readers sum the rows of a key as they did, and the worker sums each key's rows into
one from time to time (`models.rollup.compaction`). Keys are no longer unique.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-27 21:00:00.000000
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Table, text

from crm_api.core.migrations import earlier_revision
from crm_api.models.rollup import ROLLUP_TABLES, Rollup, compaction

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _declared() -> list[Rollup]:
    """The rollups as their migrations declared them."""
    daily = earlier_revision(__file__, "2026-11-23-0109_kpi_rollups.py")
    deals = earlier_revision(__file__, "2026-11-27-1730_deal_rollups.py")
    attributes = earlier_revision(__file__, "2026-11-27-1930_buyer_day_attributes.py")
    return [*daily.ROLLUPS, *deals.ROLLUPS, attributes.SOURCE_DAYS]


def _table(rollup: Rollup) -> Table:
    (table,) = (table for table in ROLLUP_TABLES if table.name == rollup.table)
    return table


def _keys(rollup: Rollup) -> list[str]:
    """The key columns in the order of the unique index they had (the workspace first)."""
    table = _table(rollup)
    (index,) = (index for index in table.indexes if index.name == f"ix_{table.name}_key")
    return [column.name for column in index.columns]


def upgrade() -> None:
    for rollup in _declared():
        op.execute(rollup.deltas_function())
        op.drop_index(f"uq_{rollup.table}", table_name=rollup.table)
        op.create_index(f"ix_{rollup.table}_key", rollup.table, _keys(rollup))


def downgrade() -> None:
    connection = op.get_bind()
    # Only the rollups this migration turned into steps: later ones are gone by now.
    for rollup in _declared():
        connection.execute(text(compaction(_table(rollup))))
    for rollup in _declared():
        op.drop_index(f"ix_{rollup.table}_key", table_name=rollup.table)
        op.create_index(
            f"uq_{rollup.table}",
            rollup.table,
            _keys(rollup),
            unique=True,
            postgresql_nulls_not_distinct=bool(rollup.nullable),
        )
        op.execute(rollup.function().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"))
