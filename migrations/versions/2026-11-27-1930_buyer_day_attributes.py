"""Buyer days carry their contact's owner and lead source, so order KPIs break down by them.

Average order value by lead source or owner joined every paid order in the range to its
contact (250k orders against 1M contacts on the KPI benchmark, 680-880 ms a call). The
contact's current owner and lead source now sit on its buyer days: filled when the orders
trigger rebuilds a buyer (migration 0027) and rewritten by a trigger on contacts when either
changes. Both take the buyer's advisory lock first, so whichever commits second writes last
and sees the other's rows: a buyer rebuilt while its contact changes ends with the new values.

Summing 250k buyer days per call still took ~100 ms, so `buyer_source_days` adds them up per
day, currency, owner and lead source, kept from buyer_days like the other daily rollups.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-27 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_api.core.migrations import earlier_revision
from crm_api.models.rollup import Rollup

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_buyers = earlier_revision(__file__, "2026-11-27-1830_buyer_days.py")
PAID = _buyers.PAID
LOCK = (
    "PERFORM pg_advisory_xact_lock(hashtextextended('buyer-days:' || bucket, 0))"
    " FROM (SELECT DISTINCT hashtext(contact_id::text) & 1023 AS bucket FROM ({buyers}) AS c"
    " ORDER BY 1) AS buckets;"
)
INSERT = f"""
    INSERT INTO buyer_days (workspace_id, contact_id, day, currency, orders, total,
                            previous_day, next_day, previous_any_day, next_any_day,
                            owner_id, lead_source)
    SELECT days.workspace_id, days.contact_id, day, currency, orders, total,
           lag(day) OVER same_currency, lead(day) OVER same_currency,
           lag(day) OVER any_currency, lead(day) OVER any_currency,
           p.owner_id, p.lead_source
    FROM (SELECT o.workspace_id, o.contact_id, (o.placed_at AT TIME ZONE 'UTC')::date AS day,
                 o.currency, count(*) AS orders, sum(o.total) AS total
          FROM orders o JOIN ({{buyers}}) AS buyers
            ON o.workspace_id = buyers.workspace_id AND o.contact_id = buyers.contact_id
          WHERE o.{PAID} GROUP BY 1, 2, 3, 4) AS days
    JOIN contacts p ON p.workspace_id = days.workspace_id AND p.id = days.contact_id
    WINDOW same_currency AS (PARTITION BY days.workspace_id, days.contact_id, currency
                             ORDER BY day),
           any_currency AS (PARTITION BY days.workspace_id, days.contact_id
                            ORDER BY day, currency)
"""
# Contacts whose owner or lead source a statement changed.
MOVED = (
    "SELECT n.workspace_id, n.id AS contact_id FROM old_rows o JOIN new_rows n"
    " USING (workspace_id, id)"
    " WHERE (o.owner_id, o.lead_source) IS DISTINCT FROM (n.owner_id, n.lead_source)"
)
FOLLOW = f"""
CREATE FUNCTION buyer_days_follow_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {LOCK.format(buyers=MOVED)}
  IF FOUND THEN
    UPDATE buyer_days b SET owner_id = p.owner_id, lead_source = p.lead_source
    FROM ({MOVED}) AS moved
    JOIN contacts p ON p.workspace_id = moved.workspace_id AND p.id = moved.contact_id
    WHERE b.workspace_id = moved.workspace_id AND b.contact_id = moved.contact_id;
  END IF;
  RETURN NULL;
END
$$
"""

SOURCE_DAYS = Rollup(
    "buyer_source_days",
    "buyer_days",
    (
        ("workspace_id", "workspace_id"),
        ("day", "day"),
        ("currency", "currency"),
        ("owner_id", "owner_id"),
        ("lead_source", "lead_source"),
    ),
    (("orders", "orders"), ("total", "total")),
    nullable=("owner_id", "lead_source"),
)


def _rebuild(operation: str, insert: str) -> str:
    buyers = _buyers.CHANGED[operation]
    return f"""
CREATE OR REPLACE FUNCTION buyer_days_{operation.lower()}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {LOCK.format(buyers=buyers)}
  IF FOUND THEN
    {_buyers.DELETE.format(buyers=buyers)};
    {insert.format(buyers=buyers)};
  END IF;
  RETURN NULL;
END
$$
"""


def _covering(include: list[str]) -> None:
    op.drop_index("ix_buyer_days_currency", table_name="buyer_days")
    op.create_index(
        "ix_buyer_days_currency",
        "buyer_days",
        ["workspace_id", "currency", "day"],
        postgresql_include=include,
    )


def upgrade() -> None:
    op.add_column("buyer_days", sa.Column("owner_id", sa.Uuid(), nullable=True))
    op.add_column("buyer_days", sa.Column("lead_source", sa.String(length=100), nullable=True))
    op.execute(
        "UPDATE buyer_days b SET owner_id = p.owner_id, lead_source = p.lead_source"
        " FROM contacts p WHERE p.workspace_id = b.workspace_id AND p.id = b.contact_id"
        " AND (p.owner_id IS NOT NULL OR p.lead_source IS NOT NULL)"
    )
    _covering(["previous_day", "orders", "total", "owner_id", "lead_source"])
    for operation in ("INSERT", "UPDATE", "DELETE"):
        op.execute(_rebuild(operation, INSERT))
    op.execute(FOLLOW)
    op.execute(
        "CREATE TRIGGER buyer_days_follow_contacts AFTER UPDATE ON contacts"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
        " FOR EACH STATEMENT EXECUTE FUNCTION buyer_days_follow_contacts()"
    )
    op.create_table(
        "buyer_source_days",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("lead_source", sa.String(length=100), nullable=True),
        sa.Column("orders", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("total", sa.Numeric(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_buyer_source_days_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "uq_buyer_source_days",
        "buyer_source_days",
        ["workspace_id", "day", "currency", "owner_id", "lead_source"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    for statement in SOURCE_DAYS.installation():
        op.execute(statement)


def downgrade() -> None:
    for statement in SOURCE_DAYS.drop():
        op.execute(statement)
    op.drop_index(
        "uq_buyer_source_days", table_name="buyer_source_days", postgresql_nulls_not_distinct=True
    )
    op.drop_table("buyer_source_days")
    op.execute("DROP TRIGGER buyer_days_follow_contacts ON contacts")
    op.execute("DROP FUNCTION buyer_days_follow_contacts()")
    for operation in ("INSERT", "UPDATE", "DELETE"):
        op.execute(_rebuild(operation, _buyers.INSERT))
    _covering(["previous_day", "orders", "total"])
    op.drop_column("buyer_days", "lead_source")
    op.drop_column("buyer_days", "owner_id")
