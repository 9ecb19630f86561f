"""Orders' queries."""

import uuid
from collections.abc import Sequence

from asyncpg import Record
from sqlalchemy import ColumnElement, bindparam, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from crm_api.core.db import PreparedQuery, fetch_rows, json_array_of
from crm_api.core.pagination import ListParams, Sort, paginate
from crm_api.models import Order, OrderLine

# The order's lines as a JSON array in their positions, prices as text (exact decimals).
_LINES = json_array_of(
    "lines",
    {
        "product_id": OrderLine.product_id,
        "quantity": OrderLine.quantity,
        "unit_price": cast(OrderLine.unit_price, Text),
    },
    order_by=OrderLine.position,
    where=(OrderLine.workspace_id == Order.workspace_id, OrderLine.order_id == Order.id),
    parent=Order,
)
# GET /v1/orders/{id} in one round trip: the order's columns and its lines.
READ_ORDER = PreparedQuery(
    select(*Order.__table__.c, _LINES).where(
        Order.workspace_id == bindparam("workspace_id"), Order.id == bindparam("id")
    )
)


async def list_orders(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: ListParams,
    sort: Sort,
) -> list[Record]:
    """A page of orders as rows with their lines (as READ_ORDER gives them), in one query."""
    statement = select(*Order.__table__.c, _LINES).where(
        Order.workspace_id == workspace_id, *conditions
    )
    return await fetch_rows(session, paginate(statement, Order.id, sort, params))
