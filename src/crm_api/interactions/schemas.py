import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field, StrictInt
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema, not_null

InteractionKind = Literal["call", "email", "meeting", "note", "chat", "sms", "visit"]
Direction = Literal["inbound", "outbound"]


class _InteractionFields(InputSchema):
    subject: str | None = Field(default=None, max_length=500)
    body: str | None = Field(default=None, max_length=100_000)
    duration_seconds: StrictInt | None = Field(default=None, ge=0, le=86_400 * 7)
    outcome: str | None = Field(default=None, max_length=200, examples=["left voicemail"])
    member_id: uuid.UUID | None = Field(default=None, description="The member involved.")
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None


class InteractionCreate(_InteractionFields):
    kind: InteractionKind
    direction: Direction = "outbound"
    occurred_at: IsoDateTime
    contact_id: uuid.UUID


class InteractionUpdate(_InteractionFields):
    kind: InteractionKind | SkipJsonSchema[None] = None
    direction: Direction | SkipJsonSchema[None] = None
    occurred_at: IsoDateTime | SkipJsonSchema[None] = None
    contact_id: uuid.UUID | SkipJsonSchema[None] = None

    _not_null = not_null("kind", "direction", "occurred_at", "contact_id")


class InteractionRead(ReadSchema):
    id: uuid.UUID
    kind: InteractionKind
    direction: Direction
    subject: str | None
    body: str | None
    occurred_at: datetime
    duration_seconds: int | None
    outcome: str | None
    member_id: uuid.UUID | None
    contact_id: uuid.UUID
    company_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    sentiment: float | None = Field(
        description="For inbound text: -1 (negative) to 1 (positive); null otherwise."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class InteractionListParams(ListParams):
    sort: Literal["occurred_at", "-occurred_at", "created_at", "-created_at"] = "-occurred_at"
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Search text: words of the subject or the start of the body.",
    )
    kind: list[InteractionKind] | None = None
    direction: Direction | None = None
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    member_id: uuid.UUID | None = None
    occurred_at_gte: IsoDateTime | None = None
    occurred_at_lte: IsoDateTime | None = None
    sentiment_gte: Decimal | None = Field(default=None, ge=-1, le=1)
    sentiment_lte: Decimal | None = Field(default=None, ge=-1, le=1)
