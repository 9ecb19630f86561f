import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, WorkspaceScoped, utcnow

# The writing transaction's id (xid8, which never wraps around) as a bigint.
CURRENT_TX_ID = "(pg_current_xact_id())::text::bigint"


class Event(WorkspaceScoped, Base):
    """A change that matters, written in the transaction of the change itself."""

    __tablename__ = "events"

    type: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    # Where a reader following cursors finds the event: (tx_id, position). tx_id is the writing
    # transaction's id; a reader serves only events of transactions older than the oldest still
    # running (pg_snapshot_xmin), so no event can later appear before one already served.
    tx_id: Mapped[int] = mapped_column(BigInteger, server_default=text(CURRENT_TX_ID))
    position: Mapped[int] = mapped_column(
        BigInteger, server_default=text("nextval('events_position_seq')")
    )

    __table_args__ = (
        Index("ix_events_position", "workspace_id", "tx_id", "position"),
        Index("ix_events_occurred_at", "workspace_id", "occurred_at", "id"),
        Index("ix_events_type", "workspace_id", "type", "id"),
        Index("ix_events_resource", "workspace_id", "resource_id", "id"),
        Index("ix_events_retention", "occurred_at"),  # the retention purge, across workspaces
    )


class IdempotencyKey(Base):
    """The first response to a POST with an Idempotency-Key, replayed for 24 h."""

    __tablename__ = "idempotency_keys"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    response_status: Mapped[int | None]
    response_headers: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    response_body: Mapped[bytes | None]

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


class AuditEntry(WorkspaceScoped, Base):
    """Who changed what, when: one row per recorded change, with the changed fields' old and
    new values (secrets redacted). Kept when events are purged."""

    __tablename__ = "audit_log"

    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[uuid.UUID]
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_audit_log_occurred_at", "workspace_id", "occurred_at", "id"),
        Index("ix_audit_log_record", "workspace_id", "record_id", "occurred_at", "id"),
        Index("ix_audit_log_record_type", "workspace_id", "record_type", "occurred_at", "id"),
        Index("ix_audit_log_actor", "workspace_id", "actor_id", "occurred_at", "id"),
    )
