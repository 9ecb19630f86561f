"""Schema building blocks shared by every domain."""

import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import partial
from types import NoneType, UnionType
from typing import Annotated, Any, Self, Union, get_args, get_origin

import pycountry
from asyncpg import Record
from babel.numbers import get_currency_precision
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

import crm_api.core.emails  # noqa: F401  (EmailStr checks each domain once)


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


def _no_empty_text(value: object) -> object:
    return None if value == "" else value


# Text that may be absent, served as null when it is (never as ""), like every other field.
OptionalText = Annotated[str | None, BeforeValidator(_no_empty_text)]


def _kinds(annotation: Any) -> set[Any]:
    """The types a field's annotation admits, None left out (X | None, Annotated[X, ...])."""
    if get_origin(annotation) is Annotated:
        return _kinds(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        return set().union(*(_kinds(arg) for arg in get_args(annotation) if arg is not NoneType))
    return {annotation}


@functools.cache
def _strict_fields(schema: type[BaseModel]) -> dict[str, type]:
    """The fields that refuse lax reads: bool for booleans, datetime for dates and date-times.
    Worked out once a schema (an import checks every row of a file against the same one)."""
    strict: dict[str, type] = {}
    for name, field in schema.model_fields.items():
        kinds = _kinds(field.annotation)
        if kinds == {bool}:
            strict[name] = bool
        elif kinds & {date, datetime}:
            strict[name] = datetime
    return strict


def _admits_none(annotation: Any) -> bool:
    if get_origin(annotation) is Annotated:
        return _admits_none(get_args(annotation)[0])
    return get_origin(annotation) in (Union, UnionType) and NoneType in get_args(annotation)


def _shape(schema: type[BaseModel]) -> str:
    """An object of this schema as a client writes one: its required fields (with an example
    value where the field gives one), then up to three optional ones."""
    fields = sorted(schema.model_fields.items(), key=lambda item: not item[1].is_required())
    shown = [item for item in fields if item[1].is_required()] or fields[:1]
    shown += [item for item in fields if not item[1].is_required() and item not in shown][:2]
    parts = []
    for name, field in shown:
        default = field.get_default(call_default_factory=False)
        plain = isinstance(default, str | int | float | bool) and default != ""
        example = field.examples[0] if field.examples else default if plain else "..."
        parts.append(f"{json.dumps(name)}: {json.dumps(example, default=str)}")
    more = ", ..." if len(shown) < len(fields) else ""
    return "{" + ", ".join(parts) + more + "}"


class InputSchema(BaseModel):
    """Input bodies refuse unknown and server-owned fields instead of silently ignoring them.

    They are also stricter than Pydantic's lax mode where lax reads surprise: a boolean is
    `true` or `false` (not 0, 1 or "yes"), a date or time is an ISO 8601 string (not a number
    of seconds), and a date-time without an offset is read as UTC (and served with one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_lax_reads(cls, data: Any) -> Any:
        if isinstance(data, BaseModel):
            return data
        if not isinstance(data, dict):
            # Not Pydantic's "a valid dictionary or object to extract fields from": the shape.
            raise PydanticCustomError(
                "object_expected", "must be an object like {shape}", {"shape": _shape(cls)}
            )
        errors = []
        strict_fields = _strict_fields(cls)
        for name, value in data.items():
            strict = strict_fields.get(name)
            if strict is None or value is None:
                continue
            if strict is bool and not isinstance(value, bool):
                errors.append((name, "must be true or false", value))
            elif strict is datetime and type(value) in (int, float):
                errors.append((name, "must be an ISO 8601 string, such as 2026-01-31", value))
        if errors:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("strict_input", message),
                        loc=(name,),
                        input=value,
                    )
                    for name, message, value in errors
                ],
            )
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        if value == "" and info.field_name is not None:
            # Empty text is no text: null, as every response serves it, where null is allowed.
            field = cls.model_fields.get(info.field_name)
            if field is not None and _admits_none(field.annotation):
                return None
        if isinstance(value, datetime) and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return reject_unstorable(value)


def _iso_8601_only(value: object) -> object:
    # Pydantic would also take a number of seconds; the API documents ISO 8601 only.
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be an ISO 8601 date-time, such as 2026-01-31T09:30:00Z")
    return value


def _utc_unless_said(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# Without an offset, a date-time is read as UTC, everywhere (bodies and query parameters).
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601_only), AfterValidator(_utc_unless_said)]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _iso_4217(code: str) -> str:
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{code} is not an ISO 4217 currency code")
    return code


CurrencyCode = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_4217),
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
    Field(ge=0, max_digits=20, decimal_places=2),
    # JSON Schema has no keyword for these bounds on a decimal string: a pattern says them.
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{1,18}(\.\d{1,2})?$",
            "description": "A decimal number of zero or more, at most 2 decimal places, sent and "
            'served as a string (`"125000.00"`); money has its currency\'s decimal places.',
            "examples": ["125000.00"],
        }
    ),
]


def minor_units(currency: str) -> int:
    """The decimal places of the currency's amounts (ISO 4217 via CLDR: EUR 2, JPY 0), at
    most the 2 the database keeps."""
    return min(get_currency_precision(currency), 2)


def in_minor_units(amount: Decimal, currency: str) -> Decimal:
    """The amount written with exactly its currency's decimal places: 5000 EUR is 5000.00."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)))


class Money(InputSchema):
    """An amount and its currency. Amounts are served with the currency's decimal places
    (`"5000.00"` EUR, `"5000"` JPY; at most 2, which is what the database keeps, so KWD has 2),
    whether just sent or read back; an amount finer than that (`12.5` JPY) is refused."""

    amount: Amount = Field(examples=["125000.00"])
    currency: CurrencyCode

    @model_validator(mode="after")
    def _in_minor_units(self) -> Self:
        exact = in_minor_units(self.amount, self.currency)
        if exact != self.amount:
            places = minor_units(self.currency)
            raise ValueError(
                f"{self.currency} amounts have {places or 'no'} decimal place"
                f"{'' if places == 1 else 's'}: {self.amount} is not one"
            )
        self.amount = exact
        return self

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
    a prepared read returns it), so one ``of`` builds a response from either."""
    if isinstance(record, Mapping | Record):  # Record: a row of core.db.fetch_rows
        return record.__getitem__
    return partial(getattr, record)
