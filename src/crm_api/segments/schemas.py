import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

# Bounded everywhere: a saved filter is stored and evaluated again and again.
_Key = Annotated[str, StringConstraints(min_length=1, max_length=100)]
_Value = Annotated[str, StringConstraints(max_length=500)]
Filters = Annotated[
    dict[_Key, _Value | int | bool | Annotated[list[_Value], Field(max_length=100)]],
    Field(max_length=50),
]
_FILTERS = Field(
    description="The contacts list's filters, as its query parameters: "
    '{"lifecycle_stage": ["customer"], "company_industry": "Retail", "custom_fields.tier": '
    '"gold", "rfm_segment": ["at_risk"]}. Paging and sorting are not part of a segment.',
    examples=[{"lifecycle_stage": ["customer"], "lead_source": "web"}],
)


class SegmentCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Gold customers at risk"])
    description: str | None = Field(default=None, max_length=2000)
    filters: Filters = _FILTERS


class SegmentUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    filters: Filters | SkipJsonSchema[None] = Field(default=None, description="Replaces them.")

    _not_null = not_null("name", "filters")


class SegmentRead(ReadSchema):
    id: uuid.UUID
    name: str
    description: str | None
    filters: Filters
    created_at: datetime
    updated_at: datetime
    version: int


class SegmentListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"


class SegmentMembersParams(ListParams):
    sort: Literal[
        "created_at", "-created_at", "updated_at", "-updated_at", "last_name", "-last_name"
    ] = "-created_at"


class SegmentCount(ReadSchema):
    count: int = Field(description="Contacts matching the segment now.")
