"""Building blocks for list filters: ranges (``_gte``/``_lte``), tag sets, text search."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import Field
from sqlalchemy import ColumnElement, func, literal
from sqlalchemy.orm import InstrumentedAttribute

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import IsoDateTime

V = TypeVar("V", datetime, date, Decimal, int)


def in_range(
    column: InstrumentedAttribute[Any], gte: V | None, lte: V | None
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if gte is not None:
        conditions.append(column >= gte)
    if lte is not None:
        conditions.append(column <= lte)
    return conditions


def search_condition(column: InstrumentedAttribute[str], q: str) -> ColumnElement[bool]:
    """Substring match on a column PostgreSQL lower-cased, served by its trigram index.

    The search text is lower-cased by PostgreSQL too, as the column was: Python's lower() is
    not PostgreSQL's ('İ' is 'i̇' in one and 'i' in the other), and a search must find what
    it names. LIKE's wildcards in it match themselves."""
    escaped = q.replace("/", "//").replace("%", "/%").replace("_", "/_")
    pattern = literal("%").concat(func.lower(escaped)).concat("%")
    return column.like(pattern, escape="/")


class RecordListParams(ListParams):
    """Filters every archivable, timestamped record list takes."""

    q: str | None = Field(default=None, min_length=1, max_length=200, description="Search text.")
    archived: bool = Field(default=False, description="List archived records instead of live ones.")
    tags: list[str] | None = Field(default=None, description="Records carrying all these tags.")
    created_at_gte: IsoDateTime | None = None
    created_at_lte: IsoDateTime | None = None
    updated_at_gte: IsoDateTime | None = None
    updated_at_lte: IsoDateTime | None = None
    address_country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    address_city: str | None = None


def record_conditions(model: Any, params: RecordListParams) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [
        model.archived_at.is_not(None) if params.archived else model.archived_at.is_(None),
        *in_range(model.created_at, params.created_at_gte, params.created_at_lte),
        *in_range(model.updated_at, params.updated_at_gte, params.updated_at_lte),
    ]
    if params.tags:
        conditions.append(model.tags.contains(params.tags))
    if params.address_country is not None:
        conditions.append(model.address.contains({"country": params.address_country}))
    if params.address_city is not None:
        conditions.append(model.address.contains({"city": params.address_city}))
    return conditions
