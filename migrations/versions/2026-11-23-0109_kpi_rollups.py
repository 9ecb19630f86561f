"""Daily KPI rollups (orders, tickets, survey answers, scored inbound interactions) kept by
statement-level triggers on their source tables, in the transaction of each write, and filled
from the rows already there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 01:09:13.307395
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


@dataclass(frozen=True)
class Rollup:
    """Per source row passing `where`, one step of each value under the key."""

    table: str
    source: str
    keys: tuple[tuple[str, str], ...]  # (rollup column, expression over a source row)
    values: tuple[tuple[str, str], ...]
    where: str = "true"
    nullable: tuple[str, ...] = ()  # keys that may be NULL

    def rows(self, transition: str, sign: str = "") -> str:
        columns = [f"{expression} AS {name}" for name, expression in self.keys]
        columns += [f"{sign}({expression}) AS {name}" for name, expression in self.values]
        return f"SELECT {', '.join(columns)} FROM {transition} WHERE {self.where}"

    def grouped(self, rows: str) -> str:
        keys = ", ".join(name for name, _ in self.keys)
        sums = ", ".join(f"sum({name}) AS {name}" for name, _ in self.values)
        changed = " OR ".join(f"sum({name}) <> 0" for name, _ in self.values)
        # Ordered by key, so concurrent writers lock rollup rows in the same order.
        return (
            f"SELECT {keys}, {sums} FROM ({rows}) AS step GROUP BY {keys}"
            f" HAVING {changed} ORDER BY {keys}"
        )

    def add(self, rows: str) -> str:
        keys = ", ".join(name for name, _ in self.keys)
        values = ", ".join(name for name, _ in self.values)
        sums = ", ".join(f"{name} = r.{name} + excluded.{name}" for name, _ in self.values)
        return (
            f"INSERT INTO {self.table} AS r ({keys}, {values}) {self.grouped(rows)}"
            f" ON CONFLICT ({keys}) DO UPDATE SET {sums}"
        )

    def function(self) -> str:
        # A delete only lowers rows that exist: when a workspace is deleted its rollups may
        # already be gone, and inserting would break their foreign key.
        lowered = ", ".join(f"{name} = r.{name} - gone.{name}" for name, _ in self.values)
        matched = " AND ".join(
            f"r.{name} {'IS NOT DISTINCT FROM' if name in self.nullable else '='} gone.{name}"
            for name, _ in self.keys
        )
        changed = self.rows("new_rows") + " UNION ALL " + self.rows("old_rows", "-")
        return f"""
CREATE FUNCTION {self.table}_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {self.add(self.rows("new_rows"))};
  ELSIF TG_OP = 'UPDATE' THEN
    {self.add(changed)};
  ELSE
    UPDATE {self.table} AS r SET {lowered}
    FROM ({self.grouped(self.rows("old_rows"))}) AS gone WHERE {matched};
  END IF;
  RETURN NULL;
END
$$
"""

    def triggers(self) -> list[str]:
        referencing = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }
        return [
            f"CREATE TRIGGER {self.table}_{operation.lower()} AFTER {operation} ON {self.source}"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {self.table}_keep()"
            for operation, transition in referencing.items()
        ]

    def fill(self) -> str:
        return self.add(self.rows(self.source))


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
        op.execute(rollup.function())
        for trigger in rollup.triggers():
            op.execute(trigger)
        op.execute(rollup.fill())


def downgrade() -> None:
    for rollup in ROLLUPS:
        for operation in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {rollup.table}_{operation} ON {rollup.source}")
        op.execute(f"DROP FUNCTION {rollup.table}_keep()")
    op.drop_index("uq_ticket_days", table_name="ticket_days", postgresql_nulls_not_distinct=True)
    op.drop_table("ticket_days")
    op.drop_index("uq_survey_days", table_name="survey_days")
    op.drop_table("survey_days")
    op.drop_index("uq_sentiment_days", table_name="sentiment_days")
    op.drop_table("sentiment_days")
    op.drop_index("uq_order_days", table_name="order_days")
    op.drop_table("order_days")
