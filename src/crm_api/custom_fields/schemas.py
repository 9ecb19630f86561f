import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictBool,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

CustomFieldEntity = Literal["contact", "company", "deal", "ticket"]  # as stored
# The API names records as its paths, imports and exports do: contacts, companies, ...
_PLURAL = {"contact": "contacts", "company": "companies", "deal": "deals", "ticket": "tickets"}
_SINGULAR = {plural: singular for singular, plural in _PLURAL.items()}


def _stored(value: object) -> object:
    if isinstance(value, str) and value not in _SINGULAR and value not in _PLURAL:
        raise ValueError(f"must be one of {', '.join(_PLURAL.values())}")
    return _SINGULAR.get(value, value) if isinstance(value, str) else value


EntityName = Annotated[
    CustomFieldEntity,
    BeforeValidator(_stored),
    PlainSerializer(lambda entity: _PLURAL[entity], return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "enum": list(_PLURAL.values()),
            "description": "The kind of record, named as in its path: `contacts`, "
            "`companies`, `deals`, `tickets`.",
        }
    ),
]
CustomFieldType = Literal["text", "number", "boolean", "date", "enum"]
Options = list[str]


class CustomFieldCreate(InputSchema):
    entity: EntityName
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
    entity: EntityName
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
    entity: EntityName | None = None
