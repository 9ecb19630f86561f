import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Numeric,
    String,
    Text,
    and_,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, foreign, mapped_column, relationship

from crm_api.models.base import (
    TRIGRAM_INDEX_OPTIONS,
    Base,
    Timestamped,
    Versioned,
    WorkspaceScoped,
    utcnow,
)

TICKET_STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
TICKET_CHANNELS = ("email", "phone", "chat", "portal", "api")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
ESCALATION_REASONS = ("negative_sentiment", "first_response_breached", "resolution_breached")


class SlaPolicy(WorkspaceScoped, Timestamped, Versioned, Base):
    """Targets per priority for first response and resolution, in minutes of calendar time or,
    with ``business_hours``, of the opening hours of a business calendar."""

    __tablename__ = "sla_policies"

    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # {"urgent": {"first_response_minutes": 30, "resolution_minutes": 240}, ...}
    targets: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # {"timezone": ..., "weekly_hours": {"monday": [{"opens", "closes"}]}, "holidays": [...]}
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (
        Index("uq_sla_policies_name", "workspace_id", "name", unique=True),
        Index(
            "uq_sla_policies_default",
            "workspace_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
        Index("ix_sla_policies_created_at", "workspace_id", "created_at", "id"),
    )


class Ticket(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "tickets"

    subject: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    requester_id: Mapped[uuid.UUID]
    company_id: Mapped[uuid.UUID | None]
    assignee_id: Mapped[uuid.UUID | None]
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    solved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The SLA clocks as last evaluated (on every change, and by the breach sweep): due times
    # of running clocks, breach times, and per target {"state", "elapsed_seconds"}.
    sla_policy_id: Mapped[uuid.UUID | None]
    first_response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_response_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The next deadline not yet breached, and the first breach: what the SLA lists read.
    sla_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sla_clocks: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    escalation_reason: Mapped[str | None] = mapped_column(String(32))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    sla_policy: Mapped[SlaPolicy | None] = relationship(
        primaryjoin=lambda: and_(
            SlaPolicy.workspace_id == foreign(Ticket.workspace_id),
            SlaPolicy.id == foreign(Ticket.sla_policy_id),
        ),
        viewonly=True,
        lazy="selectin",
    )

    # What ?q= matches, kept by PostgreSQL and served by a trigram index.
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed("lower(subject || ' ' || left(coalesce(description, ''), 1000))", persisted=True),
    )

    __table_args__ = (
        Index(
            "ix_tickets_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
        CheckConstraint(f"status IN {TICKET_STATUSES!r}", name="status"),
        CheckConstraint(f"escalation_reason IN {ESCALATION_REASONS!r}", name="escalation_reason"),
        CheckConstraint(f"channel IN {TICKET_CHANNELS!r}", name="channel"),
        CheckConstraint(f"priority IN {TICKET_PRIORITIES!r}", name="priority"),
        ForeignKeyConstraint(
            ["workspace_id", "requester_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_tickets_requester",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_tickets_company",
            ondelete="SET NULL (company_id)",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "assignee_id"],
            ["members.workspace_id", "members.id"],
            name="fk_tickets_assignee",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "sla_policy_id"],
            ["sla_policies.workspace_id", "sla_policies.id"],
            name="fk_tickets_sla_policy",
            ondelete="SET NULL (sla_policy_id)",
        ),
        Index(
            "ix_tickets_sla_due_at",
            "workspace_id",
            "sla_due_at",
            "id",
            postgresql_where=text("sla_due_at IS NOT NULL"),
        ),
        Index(
            "ix_tickets_sla_breached_at",
            "workspace_id",
            "sla_breached_at",
            "id",
            postgresql_where=text("sla_breached_at IS NOT NULL"),
        ),
        # The breach sweep looks across workspaces for passed deadlines.
        Index(
            "ix_tickets_sla_sweep", "sla_due_at", postgresql_where=text("sla_due_at IS NOT NULL")
        ),
        Index(
            "ix_tickets_solved_at",
            "workspace_id",
            "solved_at",
            postgresql_where=text("solved_at IS NOT NULL"),
        ),
        Index("ix_tickets_sla_policy", "workspace_id", "sla_policy_id", "status"),
        Index("ix_tickets_created_at", "workspace_id", "created_at", "id"),
        Index("ix_tickets_updated_at", "workspace_id", "updated_at", "id"),
        Index("ix_tickets_status", "workspace_id", "status", "created_at", "id"),
        Index("ix_tickets_requester", "workspace_id", "requester_id", "created_at", "id"),
        Index("ix_tickets_company", "workspace_id", "company_id", "created_at", "id"),
        Index("ix_tickets_assignee", "workspace_id", "assignee_id", "status"),
    )


class TicketMessage(WorkspaceScoped, Base):
    """A public reply or an internal note on a ticket."""

    __tablename__ = "ticket_messages"

    ticket_id: Mapped[uuid.UUID]
    visibility: Mapped[str] = mapped_column(String(16))
    author_type: Mapped[str] = mapped_column(String(16))
    author_member_id: Mapped[uuid.UUID | None]
    body: Mapped[str] = mapped_column(Text)
    sentiment: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'internal')", name="visibility"),
        CheckConstraint("sentiment BETWEEN -1 AND 1", name="sentiment"),
        CheckConstraint("author_type IN ('member', 'requester')", name="author_type"),
        CheckConstraint(
            "(author_type = 'member') = (author_member_id IS NOT NULL)", name="member_author"
        ),
        CheckConstraint(
            "author_type = 'member' OR visibility = 'public'", name="requester_writes_public"
        ),
        ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_ticket_messages_ticket",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "author_member_id"],
            ["members.workspace_id", "members.id"],
            name="fk_ticket_messages_author",
        ),
        Index("ix_ticket_messages_ticket", "workspace_id", "ticket_id", "created_at", "id"),
    )


class TicketStatusChange(WorkspaceScoped, Base):
    """Every status change: the SLA clocks read their pauses (pending, solved) from here."""

    __tablename__ = "ticket_status_changes"

    ticket_id: Mapped[uuid.UUID]
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_ticket_status_changes_ticket",
            ondelete="CASCADE",
        ),
        Index("ix_ticket_status_changes_ticket", "workspace_id", "ticket_id", "changed_at", "id"),
    )


class SurveyResponse(WorkspaceScoped, Base):
    """A CSAT rating of a solved ticket (1-5, one per ticket) or an NPS answer (0-10, as many
    per contact as they give)."""

    __tablename__ = "survey_responses"

    kind: Mapped[str] = mapped_column(String(8))
    contact_id: Mapped[uuid.UUID]
    ticket_id: Mapped[uuid.UUID | None]
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("kind IN ('csat', 'nps')", name="kind"),
        CheckConstraint(
            "(kind = 'csat' AND ticket_id IS NOT NULL AND score BETWEEN 1 AND 5)"
            " OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name="score",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_survey_responses_contact",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_survey_responses_ticket",
            ondelete="CASCADE",
        ),
        Index(
            "uq_survey_responses_csat",
            "workspace_id",
            "ticket_id",
            unique=True,
            postgresql_where=text("kind = 'csat'"),
        ),
        Index("ix_survey_responses_responded_at", "workspace_id", "responded_at", "id"),
        Index("ix_survey_responses_kind", "workspace_id", "kind", "responded_at", "id"),
        Index("ix_survey_responses_contact", "workspace_id", "contact_id", "responded_at", "id"),
    )
