import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import TRIGRAM_INDEX_OPTIONS, Base, Timestamped, Versioned, WorkspaceScoped

INTERACTION_KINDS = ("call", "email", "meeting", "note", "chat", "sms", "visit")
DIRECTIONS = ("inbound", "outbound")
TASK_STATUSES = ("open", "done", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")


def _links(table: str) -> tuple[ForeignKeyConstraint | Index, ...]:
    """Composite foreign keys to the records an activity can be about."""
    return (
        ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name=f"fk_{table}_company",
            ondelete="SET NULL (company_id)",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name=f"fk_{table}_deal",
            ondelete="SET NULL (deal_id)",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name=f"fk_{table}_ticket",
            ondelete="SET NULL (ticket_id)",
        ),
        Index(f"ix_{table}_ticket", "workspace_id", "ticket_id"),
    )


class Interaction(WorkspaceScoped, Timestamped, Versioned, Base):
    """A call, email, meeting, note, chat, sms or visit with a contact."""

    __tablename__ = "interactions"

    kind: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(200))
    member_id: Mapped[uuid.UUID | None]
    contact_id: Mapped[uuid.UUID]
    company_id: Mapped[uuid.UUID | None]
    deal_id: Mapped[uuid.UUID | None]
    ticket_id: Mapped[uuid.UUID | None]
    sentiment: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    # What ?q= matches, kept by PostgreSQL and served by a trigram index.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed(
            "lower(coalesce(subject, '') || ' ' || left(coalesce(body, ''), 1000))", persisted=True
        ),
    )

    __table_args__ = (
        Index(
            "ix_interactions_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
        CheckConstraint(f"kind IN {INTERACTION_KINDS!r}", name="kind"),
        CheckConstraint(f"direction IN {DIRECTIONS!r}", name="direction"),
        CheckConstraint("sentiment BETWEEN -1 AND 1", name="sentiment"),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_interactions_contact",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name="fk_interactions_member",
        ),
        *_links("interactions"),
        Index("ix_interactions_occurred_at", "workspace_id", "occurred_at", "id"),
        Index("ix_interactions_created_at", "workspace_id", "created_at", "id"),
        Index("ix_interactions_contact", "workspace_id", "contact_id", "occurred_at", "id"),
        Index("ix_interactions_company", "workspace_id", "company_id", "occurred_at", "id"),
        Index("ix_interactions_deal", "workspace_id", "deal_id"),
        Index("ix_interactions_member", "workspace_id", "member_id"),
        Index("ix_interactions_sentiment", "workspace_id", "sentiment"),
        # Inbound scored interactions by time, with their score: the sentiment KPI reads only
        # this index.
        Index(
            "ix_interactions_inbound_sentiment",
            "workspace_id",
            "occurred_at",
            postgresql_include=["sentiment"],
            postgresql_where=text("direction = 'inbound' AND sentiment IS NOT NULL"),
        ),
    )


class Task(WorkspaceScoped, Timestamped, Versioned, Base):
    """A follow-up to do, for a member, about a contact, company, deal or ticket."""

    __tablename__ = "tasks"

    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contact_id: Mapped[uuid.UUID | None]
    company_id: Mapped[uuid.UUID | None]
    deal_id: Mapped[uuid.UUID | None]
    ticket_id: Mapped[uuid.UUID | None]
    # What ?q= matches, kept by PostgreSQL and served by a trigram index.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed("lower(title || ' ' || left(coalesce(description, ''), 1000))", persisted=True),
    )

    __table_args__ = (
        Index(
            "ix_tasks_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
        CheckConstraint(f"status IN {TASK_STATUSES!r}", name="status"),
        CheckConstraint(f"priority IN {PRIORITIES!r}", name="priority"),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_tasks_contact",
            ondelete="SET NULL (contact_id)",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "assignee_id"],
            ["members.workspace_id", "members.id"],
            name="fk_tasks_assignee",
        ),
        *_links("tasks"),
        Index("ix_tasks_created_at", "workspace_id", "created_at", "id"),
        Index("ix_tasks_due_at", "workspace_id", "due_at", "id"),
        Index("ix_tasks_assignee_open", "workspace_id", "assignee_id", "status", "due_at"),
        Index("ix_tasks_contact", "workspace_id", "contact_id", "created_at", "id"),
        Index("ix_tasks_company", "workspace_id", "company_id", "created_at", "id"),
        Index("ix_tasks_deal", "workspace_id", "deal_id"),
    )
