import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.schemas import CurrencyCode, InputSchema, ReadSchema, not_null

_THRESHOLD = "An inbound customer message scoring this or lower (-1 to 1) escalates its ticket."
_SHARING = "Portal users also see the tickets and orders of their company's other contacts."
_ORIGINS = "Browser origins (scheme://host[:port]) the portal API answers with CORS headers."
Origin = Annotated[
    str, StringConstraints(pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$", max_length=200)
]


class WorkspaceRead(ReadSchema):
    id: uuid.UUID
    name: str
    escalation_sentiment_threshold: Decimal = Field(description=_THRESHOLD)
    default_currency: str = Field(description="The currency RFM's monetary score sums.")
    portal_company_sharing: bool = Field(description=_SHARING)
    portal_origins: list[str] = Field(description=_ORIGINS)
    created_at: datetime
    updated_at: datetime
    version: int


class WorkspaceUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    escalation_sentiment_threshold: (
        Annotated[Decimal, Field(ge=-1, le=1, max_digits=4, decimal_places=3)]
        | SkipJsonSchema[None]
    ) = Field(default=None, description=_THRESHOLD)

    default_currency: CurrencyCode | SkipJsonSchema[None] = None
    portal_company_sharing: bool | SkipJsonSchema[None] = Field(default=None, description=_SHARING)
    portal_origins: Annotated[list[Origin], Field(max_length=20)] | SkipJsonSchema[None] = Field(
        default=None, description=_ORIGINS
    )

    _not_null = not_null(
        "name",
        "escalation_sentiment_threshold",
        "default_currency",
        "portal_company_sharing",
        "portal_origins",
    )
