"""Orders' queries."""

from sqlalchemy import bindparam, cast, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.types import Text

from crm_api.core.db import PreparedQuery
from crm_api.models import Order, OrderLine

# The order's lines as a JSON array in their positions, prices as text (exact decimals).
_LINES = (
    select(
        func.coalesce(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_object(
                        literal_column("'product_id'"),
                        OrderLine.product_id,
                        literal_column("'quantity'"),
                        OrderLine.quantity,
                        literal_column("'unit_price'"),
                        cast(OrderLine.unit_price, Text),
                    ),
                    OrderLine.position,
                )
            ),
            literal_column("'[]'::jsonb"),
        )
    )
    .where(OrderLine.workspace_id == Order.workspace_id, OrderLine.order_id == Order.id)
    .correlate(Order)
    .scalar_subquery()
    .label("lines")
)
# GET /v1/orders/{id} in one round trip: the order's columns and its lines.
READ_ORDER = PreparedQuery(
    select(*Order.__table__.c, _LINES).where(
        Order.workspace_id == bindparam("workspace_id"), Order.id == bindparam("id")
    )
)
