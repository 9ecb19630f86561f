import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    event,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.core.phones import normalized
from crm_api.models.base import (
    TRIGRAM_INDEX_OPTIONS,
    Base,
    Timestamped,
    Versioned,
    WorkspaceScoped,
    utcnow,
)

LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "churned",
    "other",
)


class Contact(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "contacts"

    first_name: Mapped[str] = mapped_column(String(200), default="")
    last_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320))
    additional_emails: Mapped[list[str]] = mapped_column(ARRAY(String(320)), default=list)
    phones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The phones in E.164, kept by the listeners below: duplicate detection compares these.
    phones_e164: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    job_title: Mapped[str | None] = mapped_column(String(200))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="lead")
    lead_source: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[uuid.UUID | None]
    company_id: Mapped[uuid.UUID | None]
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Derived from the workspace's lead scoring rules; kept current by lead_scoring.service.
    lead_score: Mapped[int] = mapped_column(Integer, default=0)
    search_text: Mapped[str] = mapped_column(
        Text,
        Computed(
            "lower(first_name || ' ' || last_name || ' ' || coalesce(email, ''))", persisted=True
        ),
    )

    __table_args__ = (
        CheckConstraint(f"lifecycle_stage IN {LIFECYCLE_STAGES!r}", name="lifecycle_stage"),
        # SET NULL on company_id alone: the workspace_id half of the key must stay.
        ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_contacts_company",
            ondelete="SET NULL (company_id)",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["members.workspace_id", "members.id"],
            name="fk_contacts_owner",
        ),
        Index("uq_contacts_email", "workspace_id", func.lower(email), unique=True),
        Index("ix_contacts_created_at", "workspace_id", "created_at", "id"),
        Index("ix_contacts_updated_at", "workspace_id", "updated_at", "id"),
        Index("ix_contacts_last_name", "workspace_id", "last_name", "id"),
        Index("ix_contacts_lifecycle_stage", "workspace_id", "lifecycle_stage", "created_at", "id"),
        Index("ix_contacts_company", "workspace_id", "company_id", "created_at", "id"),
        Index("ix_contacts_phones_e164", "workspace_id", "phones_e164", postgresql_using="gin"),
        Index("ix_contacts_owner", "workspace_id", "owner_id", "created_at", "id"),
        Index("ix_contacts_lead_score", "workspace_id", "lead_score", "id"),
        Index(
            "ix_contacts_search_text",
            "search_text",
            postgresql_using="gin",
            postgresql_ops={"search_text": "gin_trgm_ops"},
            postgresql_with=TRIGRAM_INDEX_OPTIONS,
        ),
        Index(
            "ix_contacts_tags_custom_fields",
            "workspace_id",
            "tags",
            "custom_fields",
            postgresql_using="gin",
        ),
    )


@event.listens_for(Contact, "before_insert")
@event.listens_for(Contact, "before_update")
def _normalize_phones(_mapper: Any, _connection: Any, contact: Contact) -> None:
    contact.phones_e164 = normalized(contact.phones)


class LifecycleChange(WorkspaceScoped, Base):
    """Every lifecycle-stage change of a contact, with time and actor (conversion KPIs read it)."""

    __tablename__ = "contact_lifecycle_changes"

    contact_id: Mapped[uuid.UUID]
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    # Kept by triggers (migration 0028) for lifecycle conversion: the contact's previous entry
    # into this stage, and the stages it entered at or after this change.
    previous_entry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reached_after: Mapped[list[str]] = mapped_column(ARRAY(String(32)), server_default="{}")

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_lifecycle_changes_contact",
            ondelete="CASCADE",
        ),
        Index(
            "ix_contact_lifecycle_changes_contact",
            "workspace_id",
            "contact_id",
            "changed_at",
            "id",
        ),
        Index(
            "ix_contact_lifecycle_changes_to_stage",
            "workspace_id",
            "to_stage",
            "changed_at",
            postgresql_include=["previous_entry_at", "reached_after"],
        ),
    )


class Segment(WorkspaceScoped, Timestamped, Versioned, Base):
    """A saved contact filter; its members are whoever matches it when asked."""

    __tablename__ = "segments"

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The contacts list's query parameters: {"lifecycle_stage": ["customer"], ...}
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("uq_segments_name", "workspace_id", "name", unique=True),
        Index("ix_segments_created_at", "workspace_id", "created_at", "id"),
    )


LEAD_RULE_KINDS = ("attribute", "interaction")


class LeadScoringRule(WorkspaceScoped, Timestamped, Versioned, Base):
    """Points for a contact attribute that matches, or for recent interactions of a kind."""

    __tablename__ = "lead_scoring_rules"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)
    # attribute rules
    field: Mapped[str | None] = mapped_column(String(100))
    operator: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[Any | None] = mapped_column(JSONB)
    # interaction rules
    interaction_kind: Mapped[str | None] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(8))
    within_days: Mapped[int | None] = mapped_column(Integer)
    max_count: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        CheckConstraint(f"kind IN {LEAD_RULE_KINDS!r}", name="kind"),
        Index("ix_lead_scoring_rules_created_at", "workspace_id", "created_at", "id"),
    )


class ErasedEmail(Base):
    """The SHA-256 of an erased person's email: creating a contact with it again is refused
    unless asked for (`reimport_erased`). The email itself is gone."""

    __tablename__ = "erased_emails"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    email_hash: Mapped[bytes] = mapped_column(primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContactMerge(WorkspaceScoped, Base):
    """A merge of one contact (gone) into another, with the source as it was."""

    __tablename__ = "contact_merges"

    target_id: Mapped[uuid.UUID]
    source_id: Mapped[uuid.UUID]
    source: Mapped[dict[str, Any]] = mapped_column(JSONB)
    moved: Mapped[dict[str, Any]] = mapped_column(JSONB)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "target_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_merges_target",
            ondelete="CASCADE",
        ),
        Index("ix_contact_merges_target", "workspace_id", "target_id", "merged_at"),
    )
