import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped, utcnow

DELIVERY_STATUSES = ("pending", "succeeded", "failed")
DISABLED_REASONS = ("manual", "gone", "failing")


class WebhookEndpoint(WorkspaceScoped, Timestamped, Versioned, Base):
    """Where a partner receives the workspace's events, signed per Standard Webhooks."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(Text)
    # Event types, or `resource.*`, or `*`.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret signs too, until it expires.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Since when every attempt has failed; five days of it disable the endpoint.
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"disabled_reason IN {DISABLED_REASONS!r}", name="disabled_reason"),
        Index("ix_webhook_endpoints_created_at", "workspace_id", "created_at", "id"),
    )


class WebhookDelivery(WorkspaceScoped, Base):
    """One event for one endpoint, tried until it succeeds or its retries run out.

    Rows are written by a trigger on `events`, in the transaction of the change itself.
    """

    __tablename__ = "webhook_deliveries"

    endpoint_id: Mapped[uuid.UUID]
    event_id: Mapped[uuid.UUID]
    event_type: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A worker's lease on the delivery while it is being attempted.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="status"),
        ForeignKeyConstraint(
            ["workspace_id", "endpoint_id"],
            ["webhook_endpoints.workspace_id", "webhook_endpoints.id"],
            name="fk_webhook_deliveries_endpoint",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "event_id"],
            ["events.workspace_id", "events.id"],
            name="fk_webhook_deliveries_event",
            ondelete="CASCADE",
        ),
        # The workers' queue, across workspaces.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # Per endpoint and resource, the earliest pending event goes first.
        Index(
            "ix_webhook_deliveries_order",
            "workspace_id",
            "endpoint_id",
            "resource_id",
            "event_id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_deliveries_endpoint", "workspace_id", "endpoint_id", "created_at", "id"),
        Index("ix_webhook_deliveries_event", "workspace_id", "event_id"),
    )


class WebhookAttempt(WorkspaceScoped, Base):
    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID]
    attempt: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int]
    status_code: Mapped[int | None]
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "delivery_id"],
            ["webhook_deliveries.workspace_id", "webhook_deliveries.id"],
            name="fk_webhook_attempts_delivery",
            ondelete="CASCADE",
        ),
        Index("ix_webhook_attempts_delivery", "workspace_id", "delivery_id", "started_at", "id"),
    )
