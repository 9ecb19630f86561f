"""Schema building blocks shared by every domain."""

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)


def reject_unstorable(value: Any) -> Any:
    """PostgreSQL text holds neither NUL nor a lone UTF-16 surrogate (JSON's "\\ud800", which
    is no character at all): refuse both as invalid input instead of failing later."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                "must be valid Unicode text: it holds a lone surrogate (such as \\ud800)"
            ) from exc
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_unstorable(key)
            reject_unstorable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            reject_unstorable(item)
    return value


def _refuse_null(value: object) -> object:
    if value is None:
        raise ValueError("may not be null")
    return value


def not_null(*fields: str) -> Any:
    """For update schemas: these fields may be left out, but not sent as null."""
    return field_validator(*fields, mode="before")(_refuse_null)


class ReadSchema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Input bodies refuse unknown and server-owned fields instead of silently ignoring them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return reject_unstorable(value)


def _iso_8601_only(value: object) -> object:
    # Pydantic would also take a number of seconds; the API documents ISO 8601 only.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date-time, such as 2026-01-31T09:30:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only)]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


CurrencyCode = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 currency code", examples=["EUR"]),
]


def _decimal_string(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_not_a_boolean),
    AfterValidator(_decimal_string),
    Field(
        max_digits=20, decimal_places=2, description="A decimal number, sent and served as a string"
    ),
]


class Money(InputSchema):
    amount: Amount = Field(examples=["125000.00"])
    currency: CurrencyCode

    @classmethod
    def stored(cls, amount: Decimal | None, currency: str | None) -> "Money | None":
        """An optional amount as its two columns keep it: None unless both are set."""
        if amount is None or currency is None:
            return None
        return cls(amount=amount, currency=currency)


class Address(InputSchema):
    line1: str | None = Field(default=None, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    region: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str | None = Field(
        default=None, pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code"
    )


Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Tags = Annotated[list[Tag], Field(max_length=50)]
CustomFieldValues = Annotated[
    dict[str, Any],
    Field(description="Values for the workspace's custom field definitions, by key."),
]


def field_reader(record: object) -> Callable[[str], Any]:
    """Reads fields by name from a model instance, or from a row of its columns (a mapping, as
    the direct reads of core/direct.py have it), so one ``of`` builds a response from either."""
    if isinstance(record, Mapping):
        return record.__getitem__
    return partial(getattr, record)
