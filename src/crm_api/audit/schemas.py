"""What the audit log shows of a recorded change, and how a list of them is asked for."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import IsoDateTime, ReadSchema


class AuditEntryRead(ReadSchema):
    id: uuid.UUID
    occurred_at: datetime
    actor_type: Literal["api_key", "portal_user", "system"] = Field(
        description="An API key (a member's or an integration's), a portal user, or the "
        "service itself (SLA sweep, worker)."
    )
    actor_id: uuid.UUID | None
    action: str = Field(examples=["contact.updated"])
    record_type: str = Field(examples=["contact"])
    record_id: uuid.UUID
    changes: dict[str, Any] = Field(
        description='{field: {"old": ..., "new": ...}}; secrets are never shown.'
    )


class AuditListParams(ListParams):
    sort: Literal["occurred_at", "-occurred_at"] = "-occurred_at"
    record_type: str | None = Field(default=None, max_length=32)
    record_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    occurred_at_gte: IsoDateTime | None = None
    occurred_at_lte: IsoDateTime | None = None
