import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.core.ids import new_id
from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped, utcnow

MEMBER_ROLES = ("admin", "manager", "agent", "sales")


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # An inbound customer message scoring this or lower (VADER compound, -1..1) escalates.
    escalation_sentiment_threshold: Mapped[Decimal] = mapped_column(
        Numeric(4, 3), default=Decimal("-0.5")
    )
    # The currency RFM's monetary score sums.
    default_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Orders changed since RFM scores were last computed; the worker recomputes.
    rfm_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    # Portal users see the tickets and orders of colleagues at the same company.
    portal_company_sharing: Mapped[bool] = mapped_column(Boolean, default=False)
    # Browser origins the portal API answers with CORS headers.
    portal_origins: Mapped[list[str]] = mapped_column(ARRAY(String(200)), default=list)

    __table_args__ = (
        CheckConstraint(
            "escalation_sentiment_threshold BETWEEN -1 AND 1", name="escalation_threshold"
        ),
        Index("ix_workspaces_rfm_stale", "id", postgresql_where=text("rfm_stale")),
    )


class Member(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "members"

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    # Escalated tickets go to the least loaded member flagged so.
    escalation_target: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint(f"role IN {MEMBER_ROLES!r}", name="role"),
        Index(
            "ix_members_escalation_target",
            "workspace_id",
            "id",
            postgresql_where=text("escalation_target"),
        ),
        Index("uq_members_email", "workspace_id", func.lower(email), unique=True),
        Index("ix_members_created_at", "workspace_id", "created_at", "id"),
        Index("ix_members_name", "workspace_id", "name", "id"),
    )


class ApiKey(WorkspaceScoped, Base):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[bytes]
    secret_hint: Mapped[str] = mapped_column(String(8))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The member the key acts for: staff replies made with it are theirs.
    member_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name="fk_api_keys_member",
            ondelete="SET NULL (member_id)",
        ),
        Index("ix_api_keys_created_at", "workspace_id", "created_at", "id"),
        Index("ix_api_keys_member", "workspace_id", "member_id"),
    )


class ServiceSecret(Base):
    """Secrets of the service itself, not of a workspace: created with the schema (migration
    0019 generates the portal's token signing key), so every worker and every restart reads the
    same one."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
