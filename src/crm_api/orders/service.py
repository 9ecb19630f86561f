import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts import service as contacts_service
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Conflict, ValidationFailed, field_error
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, get_owned, read_owned, sent_values, touch
from crm_api.core.schemas import Money, field_reader, in_minor_units, minor_units
from crm_api.models import Order, OrderLine, Product
from crm_api.models.base import utcnow
from crm_api.rfm.service import mark_stale

from . import repository
from .schemas import OrderCreate, OrderLineRead, OrderListParams, OrderRead, OrderUpdate

SORTABLE = {"placed_at": Order.placed_at, "created_at": Order.created_at, "total": Order.total}
TRANSITIONS: dict[str, frozenset[str]] = {
    "placed": frozenset({"paid", "cancelled"}),
    "paid": frozenset({"fulfilled", "refunded", "cancelled"}),
    "fulfilled": frozenset({"refunded"}),
    "cancelled": frozenset(),
    "refunded": frozenset(),
}


async def _lines_of(
    session: AsyncSession, workspace_id: uuid.UUID, order_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OrderLineRead]]:
    lines: dict[uuid.UUID, list[OrderLineRead]] = defaultdict(list)
    if not order_ids:
        return lines
    rows = await session.scalars(
        select(OrderLine)
        .where(OrderLine.workspace_id == workspace_id, OrderLine.order_id.in_(order_ids))
        .order_by(OrderLine.order_id, OrderLine.position)
    )
    for line in rows:
        lines[line.order_id].append(
            OrderLineRead(
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
                line_total=line.unit_price * line.quantity,
            )
        )
    return lines


def _read(order: Order | Mapping[str, Any], lines: list[OrderLineRead]) -> OrderRead:
    """From the model, or from a row of its columns (repository.READ_ORDER)."""
    value = field_reader(order)
    return OrderRead(
        id=value("id"),
        contact_id=value("contact_id"),
        company_id=value("company_id"),
        status=value("status"),
        total=Money(amount=value("total"), currency=value("currency")),
        lines=lines,
        placed_at=value("placed_at"),
        status_changed_at=value("status_changed_at"),
        note=value("note"),
        created_at=value("created_at"),
        updated_at=value("updated_at"),
        version=value("version"),
    )


async def read_order_by_id(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID
) -> OrderRead:
    """GET /v1/orders/{id}: the order and its lines in one prepared statement."""
    row = await read_owned(session, repository.READ_ORDER, principal, order_id, "order")
    return _read_row(row)


def _read_row(row: Mapping[str, Any]) -> OrderRead:
    """From a row of repository.READ_ORDER's columns, whose ``lines`` are a JSON array."""
    lines = [
        OrderLineRead(
            product_id=line["product_id"],
            quantity=line["quantity"],
            unit_price=Decimal(line["unit_price"]),
            line_total=Decimal(line["unit_price"]) * line["quantity"],
        )
        for line in row["lines"]
    ]
    return _read(row, lines)


async def read_order(session: AsyncSession, order: Order) -> OrderRead:
    lines = await _lines_of(session, order.workspace_id, [order.id])
    return _read(order, lines.get(order.id, []))


async def _priced_lines(
    session: AsyncSession, principal: Principal, data: OrderCreate
) -> tuple[str, list[tuple[uuid.UUID, int, Decimal]]]:
    """(currency, [(product, quantity, unit price)]), or a 422 naming every bad line."""
    ids = {line.product_id for line in data.lines}
    products = {
        product.id: product
        for product in await session.scalars(
            select(Product).where(
                Product.workspace_id == principal.workspace_id, Product.id.in_(ids)
            )
        )
    }
    first = products.get(data.lines[0].product_id)
    currency = data.currency or (first.currency if first else "")
    errors = []
    priced = []
    for index, line in enumerate(data.lines):
        loc: list[str | int] = ["body", "lines", index]
        product = products.get(line.product_id)
        if product is None:
            errors.append(field_error([*loc, "product_id"], "no such product", "not_found"))
            continue
        if not product.active:
            errors.append(
                field_error([*loc, "product_id"], "the product is not active", "inactive")
            )
            continue
        if line.unit_price is None and product.currency != currency:
            message = (
                f"the product is priced in {product.currency}; give a unit_price in {currency}"
            )
            errors.append(field_error([*loc, "unit_price"], message, "currency"))
            continue
        unit_price = line.unit_price if line.unit_price is not None else product.price
        if currency and in_minor_units(unit_price, currency) != unit_price:
            places = minor_units(currency)
            message = f"{currency} amounts have {places or 'no'} decimal places"
            errors.append(field_error([*loc, "unit_price"], message, "currency"))
            continue
        priced.append((product.id, line.quantity, unit_price))
    if errors:
        raise ValidationFailed("Some order lines are not valid.", errors=errors)
    return currency, priced


async def create_order(session: AsyncSession, principal: Principal, data: OrderCreate) -> Order:
    currency, priced = await _priced_lines(session, principal, data)
    now = utcnow()
    order = Order(
        workspace_id=principal.workspace_id,
        id=new_id(),
        contact_id=data.contact_id,
        company_id=data.company_id,
        status=data.status,
        currency=currency,
        total=sum((price * quantity for _, quantity, price in priced), Decimal("0.00")),
        placed_at=data.placed_at or now,
        status_changed_at=data.placed_at or now,
        note=data.note,
    )
    session.add(order)
    await session.flush()
    session.add_all(
        OrderLine(
            workspace_id=principal.workspace_id,
            order_id=order.id,
            position=position,
            product_id=product_id,
            quantity=quantity,
            unit_price=unit_price,
        )
        for position, (product_id, quantity, unit_price) in enumerate(priced)
    )
    await session.flush()
    await mark_stale(session, principal.workspace_id)
    record_event(session, principal, "order.created", order.id, await read_order(session, order))
    return order


async def get_order(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID, *, for_update: bool = False
) -> Order:
    return await get_owned(session, Order, principal, order_id, "order", for_update=for_update)


async def list_orders(
    session: AsyncSession, principal: Principal, params: OrderListParams
) -> tuple[list[OrderRead], str | None]:
    sort = parse_sort(params.sort, SORTABLE)
    conditions: list[ColumnElement[bool]] = [
        *in_range(Order.placed_at, params.placed_at_gte, params.placed_at_lte),
        *in_range(Order.total, params.total_gte, params.total_lte),
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (Order.contact_id, params.contact_id),
        (Order.company_id, params.company_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    if params.status:
        conditions.append(Order.status.in_(params.status))
    if params.q is not None:
        # The buyer, found as the contacts list finds people (by its trigram index).
        buyers = contacts_service.contact_ids_named(principal, params.q)
        conditions.append(Order.contact_id.in_(buyers))
    rows = await repository.list_orders(session, principal.workspace_id, conditions, params, sort)
    page, next_cursor = page_of(rows, sort, params)
    return [_read_row(row) for row in page], next_cursor


async def update_order(
    session: AsyncSession,
    principal: Principal,
    order_id: uuid.UUID,
    data: OrderUpdate,
    if_match: IfMatch,
) -> Order:
    order = await get_order(session, principal, order_id, for_update=True)
    if_match.check(order.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return order
    before = (await read_order(session, order)).model_dump(mode="json")
    status = changes.pop("status", None)
    moved = status is not None and status != order.status
    if moved:
        allowed = sorted(TRANSITIONS[order.status])
        if status not in allowed:
            raise Conflict(f"An order cannot go from {order.status} to {status}.", allowed=allowed)
        order.status, order.status_changed_at = status, utcnow()
    apply_changes(order, changes, frozenset())
    touch(order)
    await session.flush()
    if moved:
        await mark_stale(session, principal.workspace_id)
    after = await read_order(session, order)
    record_update(session, principal, "order.updated", order.id, before, after)
    if moved:
        record_update(session, principal, "order.status_changed", order.id, before, after)
    return order
