import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKeyConstraint, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped, utcnow

TICKET_STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
TICKET_CHANNELS = ("email", "phone", "chat", "portal", "api")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")


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

    __table_args__ = (
        CheckConstraint(f"status IN {TICKET_STATUSES!r}", name="status"),
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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("visibility IN ('public', 'internal')", name="visibility"),
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
