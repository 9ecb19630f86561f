"""Orders' queries."""

from sqlalchemy import bindparam, cast, select
from sqlalchemy.types import Text

from crm_api.core.db import PreparedQuery, json_array_of
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
