import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import Field, StrictBool, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

CustomFieldEntity = Literal["contact", "company", "deal", "ticket"]
CustomFieldType = Literal["text", "number", "boolean", "date", "enum"]
Options = list[str]


class CustomFieldCreate(InputSchema):
    entity: CustomFieldEntity
    key: str = Field(
        pattern=r"^[a-z][a-z0-9_]{0,63}$",
        description="Lower-case identifier; the key in `custom_fields` and in filters.",
        examples=["tier"],
    )
    label: str = Field(min_length=1, max_length=200, examples=["Customer tier"])
    field_type: CustomFieldType
    options: Options = Field(
        default_factory=list, max_length=200, description="The allowed values of an enum field."
    )
    required: StrictBool = False

    @model_validator(mode="after")
    def _options_match_type(self) -> Self:
        if self.field_type == "enum" and not self.options:
            raise ValueError("an enum field needs at least one option")
        if self.field_type != "enum" and self.options:
            raise ValueError("only enum fields take options")
        return self


class CustomFieldUpdate(InputSchema):
    label: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    options: Annotated[Options, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    required: StrictBool | SkipJsonSchema[None] = None

    _not_null = not_null("label", "options", "required")


class CustomFieldRead(ReadSchema):
    id: uuid.UUID
    entity: CustomFieldEntity
    key: str
    label: str
    field_type: CustomFieldType
    options: Options
    required: bool
    created_at: datetime
    updated_at: datetime
    version: int


class CustomFieldListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    entity: CustomFieldEntity | None = None
