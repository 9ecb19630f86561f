"""The email outbox: every message the service sends (invitations, magic links, replies), kept
until it is sent."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, WorkspaceScoped, utcnow

EMAIL_STATUSES = ("pending", "sent", "failed")


class EmailMessage(WorkspaceScoped, Base):
    """The outbox: written in the transaction that wants the email sent, sent by the worker."""

    __tablename__ = "email_outbox"

    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {EMAIL_STATUSES!r}", name="status"),
        Index(
            "ix_email_outbox_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_email_outbox_created_at", "workspace_id", "created_at", "id"),
    )
