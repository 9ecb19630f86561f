"""Daily rollups the KPIs read instead of raw rows: per workspace and UTC day, the counts and
sums of orders, tickets, survey answers and scored inbound interactions.

Triggers on the source tables (migration 0012) keep them in the transaction
of every write, so a rollup is never behind the rows it sums. The application only reads them.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Uuid,
)

from crm_api.models.base import Base


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
    Index("uq_order_days", "workspace_id", "day", "currency", "status", unique=True),
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
        "uq_ticket_days",
        "workspace_id",
        "day",
        "channel",
        "priority",
        "assignee_id",
        unique=True,
        postgresql_nulls_not_distinct=True,
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
    Index("uq_survey_days", "workspace_id", "day", "kind", unique=True),
)

sentiment_days = Table(
    "sentiment_days",
    Base.metadata,
    _workspace(),
    Column("day", Date, nullable=False),
    Column("kind", String(16), nullable=False),
    _count("scored"),
    _count("negative"),
    Index("uq_sentiment_days", "workspace_id", "day", "kind", unique=True),
)
