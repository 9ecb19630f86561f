"""A record as its read schema serves it, built by PostgreSQL from the row: the JSON an event
carries, without bringing the row to Python (see ``recorded``).

The expression is derived from the schema's fields, so the schema stays the one home of the
shape; a field of a kind this cannot build in SQL stops the import of the module, and a test
compares the result with ``model_dump(mode="json")`` field by field.
"""

import types
import typing
import uuid
from datetime import datetime
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from crm_api.core.auth import SHOWN_ONCE
from crm_api.core.schemas import OptionalText

_EMPTY_IS_NULL = get_args(OptionalText)[1].func


def read_json_sql(schema: type[BaseModel], alias: str) -> str:
    """``jsonb_build_object(...)`` of the row ``alias`` (columns named after the fields)."""
    if not SHOWN_ONCE.isdisjoint(schema.model_fields):
        raise TypeError(f"{schema.__name__} carries a secret; events must not.")
    return _object_sql(
        {name: _field_sql(field, f"{alias}.{name}") for name, field in schema.model_fields.items()}
    )


def _object_sql(members: dict[str, str]) -> str:
    return "jsonb_build_object(" + ", ".join(f"'{k}', {v}" for k, v in members.items()) + ")"


def _field_sql(field: FieldInfo, column: str) -> str:
    if any(getattr(item, "func", None) is _EMPTY_IS_NULL for item in field.metadata):
        return f"nullif({column}, '')"
    kind = without_none(field.annotation)
    if kind is datetime:
        return timestamp_sql(column)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return f"CASE WHEN jsonb_typeof({column}) = 'object' THEN {_nested_sql(kind, column)} END"
    if get_origin(kind) is list and is_model(get_args(kind)[0]):
        item = _nested_sql(get_args(kind)[0], "item")
        return (
            f"CASE WHEN {column} = '[]' THEN {column} ELSE (SELECT jsonb_agg({item} ORDER BY n) "
            f"FROM jsonb_array_elements({column}) WITH ORDINALITY AS items(item, n)) END"
        )
    if kind in (uuid.UUID, str, int, bool) or get_origin(kind) in (list, dict, Literal):
        return column  # jsonb_build_object gives these as JSON serves them
    raise TypeError(f"no SQL for a field of type {field.annotation}")


def _nested_sql(model: type[BaseModel], value: str) -> str:
    """An object of ``model`` from a JSON value holding its fields (as a write stored it): each
    member as it is, a missing one null."""
    for name, field in model.model_fields.items():
        kind = without_none(field.annotation)
        if kind is not str or not (field.is_required() or field.default is None):
            raise TypeError(f"no SQL for {model.__name__}.{name}")
    return _object_sql({name: f"{value} -> '{name}'" for name in model.model_fields})


def timestamp_sql(column: str) -> str:
    """As Pydantic writes an aware datetime: UTC, microseconds only when there are any, "Z"."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', {utc}) "
        f"= {utc} THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


def without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)
