"""The customer portal: contacts' sign-in accounts and their tokens."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped, contact_fk, utcnow

PORTAL_USER_STATUSES = ("invited", "active", "disabled")
PORTAL_TOKEN_PURPOSES = ("invitation", "magic_link")


def _user_fk(table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(
        ["workspace_id", "portal_user_id"],
        ["portal_users.workspace_id", "portal_users.id"],
        name=f"fk_{table}_portal_user",
        ondelete="CASCADE",
    )


class PortalUser(WorkspaceScoped, Timestamped, Versioned, Base):
    """A contact's portal account: one per contact, signed in with its email."""

    __tablename__ = "portal_users"

    contact_id: Mapped[uuid.UUID]
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="invited")
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    invited_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"status IN {PORTAL_USER_STATUSES!r}", name="status"),
        contact_fk("portal_users"),
        Index("uq_portal_users_contact", "workspace_id", "contact_id", unique=True),
        Index("uq_portal_users_email", "workspace_id", func.lower(email), unique=True),
        Index("ix_portal_users_created_at", "workspace_id", "created_at", "id"),
    )


class PortalToken(WorkspaceScoped, Base):
    """A single-use, expiring token sent by email: an invitation or a magic link."""

    __tablename__ = "portal_tokens"

    portal_user_id: Mapped[uuid.UUID]
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[bytes]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint(f"purpose IN {PORTAL_TOKEN_PURPOSES!r}", name="purpose"),
        _user_fk("portal_tokens"),
        Index("uq_portal_tokens_hash", "token_hash", unique=True),
        Index("ix_portal_tokens_user", "workspace_id", "portal_user_id"),
    )


class PortalRefreshToken(WorkspaceScoped, Base):
    """A refresh token; each use rotates it within its family, and using a rotated one again
    revokes the whole family (someone else holds a copy)."""

    __tablename__ = "portal_refresh_tokens"

    portal_user_id: Mapped[uuid.UUID]
    family_id: Mapped[uuid.UUID]
    token_hash: Mapped[bytes]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        _user_fk("portal_refresh_tokens"),
        Index("uq_portal_refresh_tokens_hash", "token_hash", unique=True),
        Index("ix_portal_refresh_tokens_family", "workspace_id", "family_id"),
        Index("ix_portal_refresh_tokens_user", "workspace_id", "portal_user_id"),
    )
