"""Deals: a sale moving through a pipeline's stages, its contacts and its stage history."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import (
    TRIGRAM_INDEX_OPTIONS,
    Base,
    Timestamped,
    Versioned,
    WorkspaceScoped,
    utcnow,
)


class Deal(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "deals"

    name: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    pipeline_id: Mapped[uuid.UUID]
    stage_id: Mapped[uuid.UUID]
    owner_id: Mapped[uuid.UUID | None]
    company_id: Mapped[uuid.UUID | None]
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(100))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    stage_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "pipeline_id", "stage_id"],
            ["pipeline_stages.workspace_id", "pipeline_stages.pipeline_id", "pipeline_stages.id"],
            name="fk_deals_stage",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["members.workspace_id", "members.id"],
            name="fk_deals_owner",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_deals_company",
            ondelete="SET NULL (company_id)",
        ),
        CheckConstraint("(amount IS NULL) = (currency IS NULL)", name="amount_has_currency"),
        Index("ix_deals_created_at", "workspace_id", "created_at", "id"),
        Index("ix_deals_updated_at", "workspace_id", "updated_at", "id"),
        Index("ix_deals_stage", "workspace_id", "stage_id", "created_at", "id"),
        Index("ix_deals_pipeline", "workspace_id", "pipeline_id", "created_at", "id"),
        Index("ix_deals_company", "workspace_id", "company_id"),
        Index("ix_deals_owner", "workspace_id", "owner_id"),
        Index("ix_deals_expected_close_date", "workspace_id", "expected_close_date", "id"),
        Index("ix_deals_amount", "workspace_id", "amount", "id"),
        # Closed deals by close time: the win rate, deal size and cycle KPIs.
        Index(
            "ix_deals_closed_at",
            "workspace_id",
            "closed_at",
            postgresql_where=text("closed_at IS NOT NULL"),
        ),
        Index(
            "ix_deals_name",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
    )


class DealContact(Base):
    """A contact associated with a deal, with its role (decision_maker, champion, ...)."""

    __tablename__ = "deal_contacts"

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    deal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_deal_contacts_deal",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_deal_contacts_contact",
            ondelete="CASCADE",
        ),
        Index("ix_deal_contacts_contact", "workspace_id", "contact_id"),
    )


class DealStageChange(WorkspaceScoped, Base):
    """Every stage change of a deal: from, to, when, by whom, and time spent in the stage left."""

    __tablename__ = "deal_stage_changes"

    deal_id: Mapped[uuid.UUID]
    from_stage_id: Mapped[uuid.UUID | None]
    to_stage_id: Mapped[uuid.UUID]
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seconds_in_previous_stage: Mapped[int | None] = mapped_column(Integer)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    # When the deal last entered the same stage before this, set by a trigger (migration 0026)
    # for every writer: the funnel counts a deal once per range from it.
    previous_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_deal_stage_changes_deal",
            ondelete="CASCADE",
        ),
        Index("ix_deal_stage_changes_deal", "workspace_id", "deal_id", "changed_at", "id"),
        Index(
            "ix_deal_stage_changes_to_stage",
            "workspace_id",
            "to_stage_id",
            "changed_at",
            postgresql_include=["previous_entry_at"],
        ),
    )
