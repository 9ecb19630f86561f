import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.schemas import CurrencyCode, InputSchema, ReadSchema, not_null

_THRESHOLD = "An inbound customer message scoring this or lower (-1 to 1) escalates its ticket."


class WorkspaceRead(ReadSchema):
    id: uuid.UUID
    name: str
    escalation_sentiment_threshold: Decimal = Field(description=_THRESHOLD)
    default_currency: str = Field(description="The currency RFM's monetary score sums.")
    created_at: datetime
    updated_at: datetime
    version: int


class WorkspaceUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    escalation_sentiment_threshold: Decimal | SkipJsonSchema[None] = Field(
        default=None, ge=-1, le=1, max_digits=4, decimal_places=3, description=_THRESHOLD
    )

    default_currency: CurrencyCode | SkipJsonSchema[None] = None

    _not_null = not_null("name", "escalation_sentiment_threshold", "default_currency")
