"""Custom field values: validated against the workspace's definitions on every write, and turned
into SQL conditions for ``?custom_fields.<key>=`` filters (``_gte``/``_lte`` for numbers, dates)."""

import math
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, Numeric
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from crm_api.core.errors import FieldError, ValidationFailed, field_error, invalid_field
from crm_api.core.records import merge_patch
from crm_api.models import CustomFieldDefinition

from . import repository
from .schemas import CustomFieldEntity

FILTER_PREFIX = "custom_fields."
MAX_SAFE_INTEGER = 2**53 - 1


def _coerce(definition: CustomFieldDefinition, value: Any) -> Any:
    """The stored JSON form of ``value``, or ValueError saying what is wrong."""
    kind = definition.field_type
    if kind == "text":
        if not isinstance(value, str) or len(value) > 2000:
            raise ValueError("must be text of at most 2000 characters")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if isinstance(value, int) and abs(value) > MAX_SAFE_INTEGER:
            # Beyond 2**53 a JSON number loses precision in JavaScript clients.
            raise ValueError(f"must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "date":
        if not isinstance(value, str):
            raise ValueError("must be a date (YYYY-MM-DD)")
        return date.fromisoformat(value).isoformat()
    if value not in definition.options:
        raise ValueError(f"must be one of {definition.options}")
    return value


async def validated_values(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    entity: CustomFieldEntity,
    current: dict[str, Any] | None,
    incoming: dict[str, Any],
) -> dict[str, Any]:
    """Merge ``incoming`` into ``current`` (null removes a value) and check the result.

    ``current`` is None when the record is being created.
    """
    definitions = await repository.definitions_by_key(session, workspace_id, entity)
    return checked_values(definitions, current, incoming)


def checked_values(
    definitions: dict[str, CustomFieldDefinition],
    current: dict[str, Any] | None,
    incoming: dict[str, Any],
    loc: tuple[str, ...] = ("body", "custom_fields"),
) -> dict[str, Any]:
    """``validated_values`` with the definitions at hand (an import checks many rows with them)."""
    errors: list[FieldError] = []
    coerced: dict[str, Any] = {}
    for key, value in incoming.items():
        definition = definitions.get(key)
        if definition is None:
            errors.append(field_error([*loc, key], "no such custom field", "unknown_field"))
            continue
        if value is None:
            coerced[key] = None
            continue
        try:
            coerced[key] = _coerce(definition, value)
        except ValueError as exc:
            errors.append(field_error([*loc, key], str(exc)))
    merged = merge_patch(current, coerced)
    checked = set(incoming) if current is not None else set(definitions)
    for key in sorted(checked):
        definition = definitions.get(key)
        if definition is not None and definition.required and key not in merged:
            errors.append(field_error([*loc, key], "is required", "missing"))
    if errors:
        names = ", ".join(str(error.loc[-1]) for error in errors)
        raise ValidationFailed(f"Invalid custom fields: {names}", errors=errors)
    return merged


def value_from_text(definition: CustomFieldDefinition, raw: str) -> Any:
    kind = definition.field_type
    if kind == "number":
        try:
            number = Decimal(raw)
        except InvalidOperation as exc:
            raise ValueError("must be a number") from exc
        if not number.is_finite():  # NaN, sNaN, Infinity: no stored value is one
            raise ValueError("must be a finite number")
        if number == number.to_integral_value():
            # Checked as a stored value is (an integer within JSON's safe range).
            return _coerce(definition, int(number))
        return _coerce(definition, float(number))
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    return _coerce(definition, raw)


async def filter_conditions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    entity: CustomFieldEntity,
    column: InstrumentedAttribute[dict[str, Any]],
    extras: dict[str, Any],
) -> list[ColumnElement[bool]]:
    """SQL conditions for the query parameters that no declared filter took; any other is a 422."""
    if not extras:
        return []
    definitions = await repository.definitions_by_key(session, workspace_id, entity)
    conditions: list[ColumnElement[bool]] = []
    for name, raw in extras.items():
        loc = ["query", name]
        if not name.startswith(FILTER_PREFIX):
            raise invalid_field(loc, "unknown query parameter", "extra_forbidden")
        key, operator = name.removeprefix(FILTER_PREFIX), "eq"
        if key not in definitions and key.endswith(("_gte", "_lte")):
            key, operator = key[:-4], key[-3:]
        definition = definitions.get(key)
        if definition is None:
            raise invalid_field(loc, "no such custom field", "unknown_field")
        if isinstance(raw, list):
            raw = raw[-1]
        try:
            value = value_from_text(definition, str(raw))
        except ValueError as exc:
            raise invalid_field(loc, str(exc)) from exc
        if operator == "eq":
            conditions.append(column.contains({key: value}))
            continue
        if definition.field_type == "number":
            stored: ColumnElement[Any] = column[key].astext.cast(Numeric)
        elif definition.field_type == "date":
            stored = column[key].astext
        else:
            raise invalid_field(loc, "ranges apply to number and date fields only")
        conditions.append(stored >= value if operator == "gte" else stored <= value)
    return conditions
