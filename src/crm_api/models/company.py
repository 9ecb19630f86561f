from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Computed, DateTime, Index, Integer, Numeric, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import TRIGRAM_INDEX_OPTIONS, Base, Timestamped, Versioned, WorkspaceScoped


class Company(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "companies"

    name: Mapped[str] = mapped_column(String(300))
    domain: Mapped[str | None] = mapped_column(String(253))
    industry: Mapped[str | None] = mapped_column(String(100))
    employee_count: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    annual_revenue_currency: Mapped[str | None] = mapped_column(String(3))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What ?q= matches, kept by PostgreSQL and served by a trigram index.
    search_text: Mapped[str] = mapped_column(
        Text, Computed("lower(name || ' ' || coalesce(domain, ''))", persisted=True)
    )

    __table_args__ = (
        Index("uq_companies_domain", "workspace_id", "domain", unique=True),
        Index("ix_companies_created_at", "workspace_id", "created_at", "id"),
        Index("ix_companies_updated_at", "workspace_id", "updated_at", "id"),
        Index("ix_companies_name", "workspace_id", "name", "id"),
        Index("ix_companies_industry", "workspace_id", "industry", "created_at", "id"),
        Index(
            "ix_companies_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
        Index(
            "ix_companies_tags_custom_fields",
            "workspace_id",
            "tags",
            "custom_fields",
            postgresql_using="gin",
        ),
    )
