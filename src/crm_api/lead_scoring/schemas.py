import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

AttributeField = Annotated[
    str,
    Field(
        pattern=r"^(lifecycle_stage|lead_source|job_title|email_domain|company_industry"
        r"|custom_fields\.[a-z][a-z0-9_]{0,63})$",
        description="lifecycle_stage, lead_source, job_title, email_domain, company_industry, "
        "or custom_fields.<key>.",
        examples=["company_industry"],
    ),
]
InteractionKind = Literal["call", "email", "meeting", "note", "chat", "sms", "visit"]


class AttributeRule(InputSchema):
    """`points` when the contact's `field` equals `value`, is one of `value` (a list), or is
    set at all."""

    kind: Literal["attribute"]
    name: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=-1000, le=1000)
    field: AttributeField
    operator: Literal["equals", "in", "is_set"] = "equals"
    value: str | list[str] | None = Field(default=None, examples=["Retail"])

    @model_validator(mode="after")
    def _value_fits(self) -> Self:
        if self.operator == "is_set" and self.value is not None:
            raise ValueError("is_set takes no value")
        if self.operator == "equals" and not isinstance(self.value, str):
            raise ValueError("equals needs a text value")
        if self.operator == "in" and not (isinstance(self.value, list) and self.value):
            raise ValueError("in needs a list of values")
        return self


class InteractionRule(InputSchema):
    """`points` for each interaction of `interaction_kind` (and `direction`) in the last
    `within_days`, counted up to `max_count`."""

    kind: Literal["interaction"]
    name: str = Field(min_length=1, max_length=200)
    points: int = Field(ge=-1000, le=1000)
    interaction_kind: InteractionKind
    direction: Literal["inbound", "outbound", "any"] = "any"
    within_days: int = Field(default=30, ge=1, le=3650)
    max_count: int = Field(default=1, ge=1, le=100)


RuleCreate = Annotated[AttributeRule | InteractionRule, Field(discriminator="kind")]


class RuleUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    points: Annotated[int, Field(ge=-1000, le=1000)] | SkipJsonSchema[None] = None

    _not_null = not_null("name", "points")


class RuleRead(ReadSchema):
    id: uuid.UUID
    kind: Literal["attribute", "interaction"]
    name: str
    points: int
    field: str | None
    operator: Literal["equals", "in", "is_set"] | None
    value: Any
    interaction_kind: InteractionKind | None
    direction: Literal["inbound", "outbound", "any"] | None
    within_days: int | None
    max_count: int | None
    created_at: datetime
    updated_at: datetime
    version: int


class RuleListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "created_at"
