"""Consent records: what each contact agreed to be contacted or profiled for, when and how."""

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, WorkspaceScoped, contact_fk, utcnow

CONSENT_PURPOSES = ("marketing_email", "marketing_sms", "marketing_phone", "profiling")


class ContactConsent(WorkspaceScoped, Base):
    """One grant or withdrawal of consent for a purpose; the latest per purpose is in force."""

    __tablename__ = "contact_consents"

    contact_id: Mapped[uuid.UUID]
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))
    proof: Mapped[str | None] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint(f"purpose IN {CONSENT_PURPOSES!r}", name="purpose"),
        contact_fk("contact_consents"),
        Index(
            "ix_contact_consents_contact",
            "workspace_id",
            "contact_id",
            "purpose",
            "recorded_at",
        ),
    )
