"""First-response times kept as log-bucket histograms per UTC month; buyer days indexed for churn.

Exact percentiles sort every duration once per grouping: first-response time by channel with a
monthly series sorted 200k durations three times on the KPI benchmark (p95 379 ms). A
histogram of log buckets answers any percentile of a month, a channel or a priority from a few
hundred rows, within a known relative error:

- `log_bucket(seconds)` puts a duration d > 0 in bucket b = ceil(ln d / ln g), the interval
  (g^(b-1), g^b] with g = 101/99; `log_bucket_seconds(b)` gives back 2 g^b / (1 + g)
  (= 0.99 g^b), within 1% of every value of the bucket. Negative durations mirror positive ones
  and zero has a bucket of its own (0), so buckets sort as the values do. An interpolated
  percentile (percentile_cont) mixes two values each within 1%, so it is within 1% too.
- `ticket_response_months` counts the tickets with a first response per workspace, UTC month of
  creation, channel, priority and bucket, in signed steps like the other rollups (migration
  0032). Months, not days: a day has fewer tickets than buckets, so daily histograms would hold
  about as many rows as there are tickets.

`ix_buyer_days_day` gains `contact_id`, so churn and retention (distinct buyers of one 90-day
window absent from another) read the buyers' days from the index alone (`kpis/customers.py`).

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-28 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from crm_api.models.rollup import Rollup

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# g = 101/99: a bucket's middle (2 g^b / (1 + g)) is within (g - 1) / (g + 1) = 1% of its ends.
# 2000 + b keeps every bucket of d > 0 above zero: b is clamped to [-1999, 30000] (1 microsecond
# is b = -691, a century b = 1105).
LOG_BUCKET = """
CREATE FUNCTION log_bucket(seconds double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN seconds = 0 THEN 0 ELSE (sign(seconds) * (2000 + greatest(-1999, least(30000,
    ceil(ln(abs(seconds)) / ln(101::double precision / 99))))))::smallint END
$$
"""
LOG_BUCKET_SECONDS = """
CREATE FUNCTION log_bucket_seconds(bucket smallint) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN bucket = 0 THEN 0 ELSE sign(bucket)
    * 0.99 * power(101::double precision / 99, abs(bucket) - 2000) END
$$
"""

RESPONSE_MONTHS = Rollup(
    "ticket_response_months",
    "tickets",
    (
        ("workspace_id", "workspace_id"),
        ("month", "date_trunc('month', created_at AT TIME ZONE 'UTC')::date"),
        ("channel", "channel"),
        ("priority", "priority"),
        ("bucket", "log_bucket(date_part('epoch', first_responded_at - created_at))"),
    ),
    (("tickets", "1"),),
    where="first_responded_at IS NOT NULL",
)


def _buyer_days_index(included: list[str]) -> None:
    op.drop_index("ix_buyer_days_day", table_name="buyer_days")
    op.create_index(
        "ix_buyer_days_day", "buyer_days", ["workspace_id", "day"], postgresql_include=included
    )


def upgrade() -> None:
    op.execute(LOG_BUCKET)
    op.execute(LOG_BUCKET_SECONDS)
    op.create_table(
        "ticket_response_months",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("tickets", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ticket_response_months_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ticket_response_months_key",
        "ticket_response_months",
        ["workspace_id", "month", "channel", "priority", "bucket"],
    )
    for statement in RESPONSE_MONTHS.installation_in_steps():
        op.execute(statement)
    _buyer_days_index(["previous_any_day", "next_any_day", "orders", "contact_id"])


def downgrade() -> None:
    _buyer_days_index(["previous_any_day", "next_any_day", "orders"])
    for statement in RESPONSE_MONTHS.drop():
        op.execute(statement)
    op.drop_index("ix_ticket_response_months_key", table_name="ticket_response_months")
    op.drop_table("ticket_response_months")
    op.execute("DROP FUNCTION log_bucket_seconds(smallint)")
    op.execute("DROP FUNCTION log_bucket(double precision)")
