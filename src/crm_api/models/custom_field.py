from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped

CUSTOM_FIELD_ENTITIES = ("contact", "company", "deal", "ticket")
CUSTOM_FIELD_TYPES = ("text", "number", "boolean", "date", "enum")


class CustomFieldDefinition(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "custom_field_definitions"

    entity: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[str] = mapped_column(String(16))
    options: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        CheckConstraint(f"entity IN {CUSTOM_FIELD_ENTITIES!r}", name="entity"),
        CheckConstraint(f"field_type IN {CUSTOM_FIELD_TYPES!r}", name="field_type"),
        Index("uq_custom_field_definitions_key", "workspace_id", "entity", "key", unique=True),
    )
