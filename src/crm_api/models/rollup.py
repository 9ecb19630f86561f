"""Rollups the KPIs read instead of raw rows: per workspace and UTC day, the counts and sums
of orders, tickets, survey answers, scored inbound interactions and closed deals; the open
pipeline's deals and amounts per stage, owner, source and expected month of close; each
buyer's days of paid orders, chained to their previous and next (migration 0027); and the
tickets' first-response times as log-bucket histograms per UTC month (migration 0034).

Statement-level triggers on the source tables (migrations 0012 and 0025, built by `Rollup`)
keep them in the transaction of every write, so a rollup is never behind the rows it sums. The
application only reads them.
"""

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Uuid,
)

from crm_api.models.base import Base


@dataclass(frozen=True)
class Rollup:
    """How a rollup table is kept: per source row passing `where`, one step of each value under
    the key, added by statement-level triggers (its `function` and `triggers`) and filled once
    from the rows already there (`fill`)."""

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

    def drop(self) -> list[str]:
        return [
            *(
                f"DROP TRIGGER {self.table}_{operation} ON {self.source}"
                for operation in ("insert", "update", "delete")
            ),
            f"DROP FUNCTION {self.table}_keep()",
        ]

    def fill(self) -> str:
        return self.add(self.rows(self.source))

    def installation(self) -> list[str]:
        """Its trigger function, its triggers, and its rows from what the source holds."""
        return [self.function(), *self.triggers(), self.fill()]

    def installation_in_steps(self) -> list[str]:
        """The same for a rollup kept in signed steps from the start (no unique key)."""
        keys = ", ".join(name for name, _ in self.keys)
        values = ", ".join(name for name, _ in self.values)
        fill = f"INSERT INTO {self.table} ({keys}, {values}) {self.grouped(self.rows(self.source))}"
        return [self.deltas_function(), *self.triggers(), fill]

    def deltas_function(self) -> str:
        """The trigger function that only inserts: each statement adds rows of signed steps
        (migration 0032), so no two writers wait on one rollup row; `compaction` sums them."""
        keys = ", ".join(name for name, _ in self.keys)
        values = ", ".join(name for name, _ in self.values)
        insert = f"INSERT INTO {self.table} ({keys}, {values})"
        changed = self.rows("new_rows") + " UNION ALL " + self.rows("old_rows", "-")
        # A deleted workspace's rows go with it: no step for one that is gone.
        return f"""
CREATE OR REPLACE FUNCTION {self.table}_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {insert} {self.grouped(self.rows("new_rows"))};
  ELSIF TG_OP = 'UPDATE' THEN
    {insert} {self.grouped(changed)};
  ELSE
    {insert} SELECT * FROM ({self.grouped(self.rows("old_rows", "-"))}) AS gone
    WHERE EXISTS (SELECT 1 FROM workspaces w WHERE w.id = gone.workspace_id);
  END IF;
  RETURN NULL;
END
$$
"""


def compaction(table: Table) -> str:
    """One statement summing a rollup's rows of the same key into one, dropping keys whose
    sums are all zero. Readers sum rows by key, so they see the same figures before and after;
    writers only insert, so they never wait on it."""
    (index,) = (index for index in table.indexes if index.name == f"ix_{table.name}_key")
    keys = [column.name for column in index.columns]
    values = [column.name for column in table.columns if column.name not in keys]
    same = " AND ".join(f"r.{key} IS NOT DISTINCT FROM c.{key}" for key in keys)
    sums = ", ".join(f"sum({value})" for value in values)
    kept = " OR ".join(f"sum({value}) <> 0" for value in values)
    listed = ", ".join(keys)
    return (
        f"WITH crowded AS (SELECT {listed} FROM {table.name} GROUP BY {listed}"
        " HAVING count(*) > 1),"
        f" gone AS (DELETE FROM {table.name} AS r USING crowded AS c WHERE {same} RETURNING r.*)"
        f" INSERT INTO {table.name} ({listed}, {', '.join(values)})"
        f" SELECT {listed}, {sums} FROM gone GROUP BY {listed} HAVING {kept}"
    )


def _workspace() -> Column[object]:
    return Column("workspace_id", ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)


def _count(name: str) -> Column[int]:
    return Column(name, BigInteger, nullable=False, server_default="0")


order_days = Table(
    "order_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    _count("orders"),
    Column("total", Numeric, nullable=False, server_default="0"),
    Index("ix_order_days_key", "workspace_id", "day", "currency", "status"),
)

ticket_days = Table(
    "ticket_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("assignee_id", Uuid, nullable=True),
    _count("tickets"),
    _count("with_policy"),
    _count("breached"),
    Index(
        "ix_ticket_days_key",
        "workspace_id",
        "day",
        "channel",
        "priority",
        "assignee_id",
    ),
)

survey_days = Table(
    "survey_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("kind", String(8), nullable=False),
    _count("responses"),
    _count("score_sum"),
    _count("promoters"),
    _count("detractors"),
    Index("ix_survey_days_key", "workspace_id", "day", "kind"),
)

sentiment_days = Table(
    "sentiment_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    _count("scored"),
    _count("negative"),
    Index("ix_sentiment_days_key", "workspace_id", "day", "kind"),
)

# Open pipeline: every deal not archived, whatever its stage; the stage's kind, pipeline and
# probability are read at query time, so editing a stage needs no rollup change.
deal_stage_totals = Table(
    "deal_stage_totals",
    Base.metadata,
    _workspace(),
    Column("stage_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("owner_id", Uuid, nullable=True),
    Column("source", String(100), nullable=True),
    _count("deals"),
    Column("amount", Numeric, nullable=False, server_default="0"),
    Column("close_month", Date, nullable=True),
    Index(
        "ix_deal_stage_totals_key",
        "workspace_id",
        "stage_id",
        "currency",
        "owner_id",
        "source",
        "close_month",
    ),
)

# Closed deals (not archived) per UTC day of close and stage, won and lost alike.
deal_close_days = Table(
    "deal_close_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("stage_id", Uuid, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("owner_id", Uuid, nullable=True),
    Column("source", String(100), nullable=True),
    _count("deals"),
    Column("amount", Numeric, nullable=False, server_default="0"),
    Column("cycle_seconds", Numeric, nullable=False, server_default="0"),
    Index(
        "ix_deal_close_days_key",
        "workspace_id",
        "day",
        "stage_id",
        "currency",
        "owner_id",
        "source",
    ),
)

# Each buyer's paid orders per UTC day and currency, linked to the buyer's previous and next
# such day in the same currency and in any: the first of a buyer's days in a range is the one
# whose previous day is before it, so distinct buyers are a count (migration 0027 keeps it).
buyer_days = Table(
    "buyer_days",
    Base.metadata,
    _workspace(),
    Column("contact_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("orders", BigInteger, nullable=False),
    Column("total", Numeric, nullable=False),
    Column("previous_day", Date, nullable=True),
    Column("next_day", Date, nullable=True),
    Column("previous_any_day", Date, nullable=True),
    Column("next_any_day", Date, nullable=True),
    # The contact's owner and lead source now, for breakdowns (migration 0029 keeps them).
    Column("owner_id", Uuid, nullable=True),
    Column("lead_source", String(100), nullable=True),
    PrimaryKeyConstraint("workspace_id", "contact_id", "day", "currency", name="pk_buyer_days"),
    Index(
        "ix_buyer_days_currency",
        "workspace_id",
        "currency",
        "day",
        postgresql_include=["previous_day", "orders", "total", "owner_id", "lead_source"],
    ),
    Index(
        "ix_buyer_days_day",
        "workspace_id",
        "day",
        postgresql_include=["previous_any_day", "next_any_day", "orders", "contact_id"],
    ),
)

# Buyers' days added up per day, currency and the contact's owner and lead source now (kept
# from buyer_days by migration 0029): order value broken down by either reads a few rows a day.
buyer_source_days = Table(
    "buyer_source_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_id", Uuid, nullable=True),
    Column("lead_source", String(100), nullable=True),
    _count("orders"),
    Column("total", Numeric, nullable=False, server_default="0"),
    Index(
        "ix_buyer_source_days_key",
        "workspace_id",
        "day",
        "currency",
        "owner_id",
        "lead_source",
    ),
)

# Tickets with a first response per UTC month of creation, channel, priority and log bucket of
# the response time (migration 0034): percentiles within 1% from a few hundred rows a month.
ticket_response_months = Table(
    "ticket_response_months",
    Base.metadata,
    _workspace(),
    Column("month", Date, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("bucket", SmallInteger, nullable=False),
    _count("tickets"),
    Index(
        "ix_ticket_response_months_key", "workspace_id", "month", "channel", "priority", "bucket"
    ),
)

# Every rollup the triggers keep, for the worker's compaction.
ROLLUP_TABLES = (
    order_days,
    ticket_days,
    survey_days,
    sentiment_days,
    deal_stage_totals,
    deal_close_days,
    buyer_source_days,
    ticket_response_months,
)
