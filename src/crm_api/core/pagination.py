"""Keyset pagination: ``?limit=&cursor=&sort=``, answered as ``{"data", "next_cursor"}``.

The cursor carries the sort key and the id of the last row served; the next page starts strictly
after that pair, so page N costs what page 1 costs (an index range scan, never OFFSET).
"""

import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, Self, TypeVar

from asyncpg import Record
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Date, DateTime, Float, Integer, Numeric, Select, String, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from crm_api.core.errors import invalid_field
from crm_api.core.schemas import reject_unstorable

T = TypeVar("T")
Row = TypeVar("Row")


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= to get the next page; null on the last page."
    )


class ListParams(BaseModel):
    """Query parameters every list takes. Unknown parameters are a 422, never silently ignored."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=25, ge=1, le=100, description="Page size, 1 to 100.")
    cursor: str | None = Field(default=None, description="`next_cursor` of the previous page.")
    sort: str = Field(
        default="-created_at",
        description="Sort field, `-` prefix for descending. Ties are broken by id.",
    )

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return reject_unstorable(value)

    @model_validator(mode="after")
    def _storable_extra_parameters(self) -> Self:
        reject_unstorable(self.model_extra or {})
        return self


@dataclass(frozen=True, slots=True)
class Sort:
    field: str
    column: InstrumentedAttribute[Any]
    descending: bool


def parse_sort(value: str, allowed: Mapping[str, InstrumentedAttribute[Any]]) -> Sort:
    name = value.removeprefix("-")
    if name not in allowed:
        raise invalid_field(
            ["query", "sort"], f"cannot sort by {name!r}; use one of {sorted(allowed)}"
        )
    return Sort(field=name, column=allowed[name], descending=value.startswith("-"))


def pack_cursor(*values: Any) -> str:
    """An opaque cursor holding JSON values (see unpack_cursor)."""
    raw = json.dumps(values, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def unpack_cursor(cursor: str) -> Any:
    """What pack_cursor packed; ValueError or binascii.Error when it is not a cursor."""
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def encode_cursor(sort: Sort, value: Any, row_id: uuid.UUID) -> str:
    if isinstance(value, date):  # datetimes too
        value = value.isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    return pack_cursor(sort.field, sort.descending, value, str(row_id))


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, uuid.UUID]:
    try:
        field, descending, value, row_id = unpack_cursor(cursor)
        if field != sort.field or descending != sort.descending:
            raise invalid_field(["query", "cursor"], "the cursor belongs to another sort order")
        return _sort_value(sort.column.type, value), uuid.UUID(row_id)
    except (ValueError, TypeError, InvalidOperation, binascii.Error) as exc:
        raise invalid_field(["query", "cursor"], "the cursor is not valid") from exc


def _sort_value(column_type: Any, value: Any) -> Any:
    """A cursor's sort value as its column's type, or TypeError/ValueError when it is not one."""
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(_of(value, str))
    if isinstance(column_type, Date):
        return date.fromisoformat(_of(value, str))
    if isinstance(column_type, Float):
        return float(_of(value, int | float))
    if isinstance(column_type, Numeric):
        number = Decimal(_of(value, str))
        if not number.is_finite():
            raise ValueError("not a finite number")
        return number
    if isinstance(column_type, Integer):
        number = _of(value, int)
        if not -(2**63) <= number < 2**63:
            raise ValueError("out of range")
        return number
    if isinstance(column_type, String):
        return _of(value, str)
    return value


def _of(value: Any, kind: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"expected {kind}, got {type(value).__name__}")
    return value


def paginate(
    statement: Select[Row],
    id_column: InstrumentedAttribute[uuid.UUID],
    sort: Sort,
    params: ListParams,
) -> Select[Row]:
    """Order by (sort column, id), start after the cursor, and fetch one row more than asked."""
    key = tuple_(sort.column, id_column)
    if params.cursor:  # an empty cursor is the first page
        value, last_id = decode_cursor(params.cursor, sort)
        bound = tuple_(value, last_id)
        statement = statement.where(key < bound if sort.descending else key > bound)
    if sort.descending:
        statement = statement.order_by(sort.column.desc(), id_column.desc())
    else:
        statement = statement.order_by(sort.column.asc(), id_column.asc())
    return statement.limit(params.limit + 1)


def page_of(rows: Sequence[Row], sort: Sort, params: ListParams) -> tuple[list[Row], str | None]:
    """Split the fetched rows into this page and the cursor of the next one."""
    page = list(rows[: params.limit])
    if len(rows) <= params.limit:
        return page, None
    last = page[-1]
    if isinstance(last, Record):  # a row from core.db.fetch_rows
        return page, encode_cursor(sort, last[sort.field], last["id"])
    return page, encode_cursor(sort, getattr(last, sort.field), last.id)  # type: ignore[attr-defined]
