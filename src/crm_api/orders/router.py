import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import OrderCreate, OrderListParams, OrderRead, OrderUpdate

router = crm_router("/v1/orders", "Orders")
Reader = Annotated[Principal, Depends(require(Scope.orders_read))]
Writer = Annotated[Principal, Depends(require(Scope.orders_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Place an order",
    description="Lines name active products; the total is computed. A bad line is a 422 naming it.",
    responses=problem_responses(400, 413, 415),
)
async def create_order(
    data: OrderCreate, session: SessionDep, principal: Writer, response: Response
) -> OrderRead:
    order = await service.create_order(session, principal, data)
    response.headers["Location"] = f"/v1/orders/{order.id}"
    return await service.read_order(session, order)


@router.get("", summary="List orders", openapi_extra=documented_params(OrderListParams))
async def list_orders(
    params: Annotated[OrderListParams, Depends(list_params(OrderListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[OrderRead]:
    orders, next_cursor = await service.list_orders(session, principal, params)
    return Page(data=orders, next_cursor=next_cursor)


@router.get("/{order_id:uuid}", summary="Get an order", responses=problem_responses(404))
async def get_order(order_id: uuid.UUID, session: SessionDep, principal: Reader) -> OrderRead:
    return await service.read_order_by_id(session, principal, order_id)


@router.patch(
    "/{order_id:uuid}",
    summary="Move an order through its statuses, or change its note or company",
    description="A status move the order's workflow does not allow is a 409 naming the allowed "
    "ones.",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_order(
    order_id: uuid.UUID,
    data: OrderUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> OrderRead:
    order = await service.update_order(session, principal, order_id, data, if_match)
    return await service.read_order(session, order)


add_export_route(
    router,
    plural="orders",
    list_model=OrderListParams,
    fetch=service.list_orders,
    read=OrderRead,
    reader=Reader,
)
