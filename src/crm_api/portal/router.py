"""The customer portal API for the signed-in customer (`/v1/portal/...`, portal access tokens
only); staff routes are in staff_router.py, signing in in sign_in_router.py."""

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.orders.schemas import OrderRead
from crm_api.privacy.export import DataExport
from crm_api.products.schemas import ProductRead

from . import accounts, customer
from .auth import CustomerDep
from .routing import PortalRoute
from .schemas import (
    ConsentsRead,
    ConsentsUpdate,
    MeRead,
    MeUpdate,
    PasswordChange,
    PortalMessageCreate,
    PortalMessageListParams,
    PortalMessageRead,
    PortalOrderCreate,
    PortalOrderListParams,
    PortalProductListParams,
    PortalTicketCreate,
    PortalTicketListParams,
    PortalTicketRead,
    Rating,
    RatingRead,
)

portal_router = crm_router("/v1/portal", "Portal", PortalRoute)
_WRITE_ERRORS = problem_responses(400, 413, 415)


@portal_router.get("/me", summary="My contact record")
async def get_me(me: CustomerDep, session: SessionDep) -> MeRead:
    return await customer.me(session, me)


@portal_router.patch(
    "/me",
    summary="Change my contact record",
    description="Only first_name, last_name, phones, address and preferences; any other field "
    "is a 422. If-Match takes the record's ETag.",
    responses=problem_responses(400, 412, 413, 415, 428),
)
async def update_me(
    data: MeUpdate, me: CustomerDep, session: SessionDep, if_match: IfMatchDep
) -> MeRead:
    return await customer.update_me(session, me, data, if_match)


@portal_router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set or change my password",
    responses=_WRITE_ERRORS,
)
async def change_password(data: PasswordChange, me: CustomerDep, session: SessionDep) -> None:
    await accounts.change_password(session, me.workspace_id, me.user_id, data, me.session_id)


@portal_router.get("/consents", summary="My marketing consents")
async def get_consents(me: CustomerDep, session: SessionDep) -> ConsentsRead:
    return await customer.consents(session, me)


@portal_router.patch(
    "/consents",
    summary="Grant or withdraw marketing consent",
    description="Per channel; each change is recorded with its time and the source `portal`.",
    responses=_WRITE_ERRORS,
)
async def update_consents(
    data: ConsentsUpdate, me: CustomerDep, session: SessionDep
) -> ConsentsRead:
    return await customer.update_consents(session, me, data)


@portal_router.get(
    "/tickets",
    summary="My tickets",
    description="Mine, and my company's when the workspace shares them.",
    openapi_extra=documented_params(PortalTicketListParams),
)
async def list_my_tickets(
    params: Annotated[PortalTicketListParams, Depends(list_params(PortalTicketListParams))],
    me: CustomerDep,
    session: SessionDep,
) -> Page[PortalTicketRead]:
    rows, next_cursor = await customer.list_tickets(session, me, params)
    return Page(data=rows, next_cursor=next_cursor)


@portal_router.post(
    "/tickets",
    status_code=status.HTTP_201_CREATED,
    summary="Open a ticket",
    responses=_WRITE_ERRORS,
)
async def open_ticket(
    data: PortalTicketCreate, me: CustomerDep, session: SessionDep, response: Response
) -> PortalTicketRead:
    ticket = await customer.open_ticket(session, me, data)
    response.headers["Location"] = f"/v1/portal/tickets/{ticket.id}"
    return PortalTicketRead.model_validate(ticket)


@portal_router.get(
    "/tickets/{ticket_id:uuid}", summary="One of my tickets", responses=problem_responses(404)
)
async def get_my_ticket(
    ticket_id: uuid.UUID, me: CustomerDep, session: SessionDep
) -> PortalTicketRead:
    return PortalTicketRead.model_validate(await customer.get_ticket(session, me, ticket_id))


@portal_router.get(
    "/tickets/{ticket_id:uuid}/messages",
    summary="A ticket's conversation",
    description="Public messages only.",
    responses=problem_responses(404),
    openapi_extra=documented_params(PortalMessageListParams),
)
async def list_my_ticket_messages(
    ticket_id: uuid.UUID,
    params: Annotated[PortalMessageListParams, Depends(list_params(PortalMessageListParams))],
    me: CustomerDep,
    session: SessionDep,
) -> Page[PortalMessageRead]:
    rows, next_cursor = await customer.list_messages(session, me, ticket_id, params)
    return Page(data=rows, next_cursor=next_cursor)


@portal_router.post(
    "/tickets/{ticket_id:uuid}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Reply on a ticket",
    description="Reopens a ticket that was pending on me or solved; a closed one is a 409.",
    responses=problem_responses(400, 404, 409, 413, 415),
)
async def reply_to_ticket(
    ticket_id: uuid.UUID, data: PortalMessageCreate, me: CustomerDep, session: SessionDep
) -> PortalMessageRead:
    return PortalMessageRead.model_validate(await customer.reply(session, me, ticket_id, data.body))


@portal_router.post(
    "/tickets/{ticket_id:uuid}/close",
    summary="Close a ticket",
    description="My problem is solved: the ticket becomes solved, then closed. 409 if closed.",
    responses=problem_responses(404, 409),
)
async def close_my_ticket(
    ticket_id: uuid.UUID, me: CustomerDep, session: SessionDep
) -> PortalTicketRead:
    return PortalTicketRead.model_validate(await customer.close_ticket(session, me, ticket_id))


@portal_router.post(
    "/tickets/{ticket_id:uuid}/rating",
    status_code=status.HTTP_201_CREATED,
    summary="Rate a solved or closed ticket (CSAT)",
    description="Once per ticket, by the customer who asked (409 otherwise).",
    responses=problem_responses(400, 404, 409, 413, 415),
)
async def rate_my_ticket(
    ticket_id: uuid.UUID, data: Rating, me: CustomerDep, session: SessionDep
) -> RatingRead:
    return await customer.rate_ticket(session, me, ticket_id, data)


@portal_router.get(
    "/orders",
    summary="My orders",
    description="Mine, and my company's when the workspace shares them.",
    openapi_extra=documented_params(PortalOrderListParams),
)
async def list_my_orders(
    params: Annotated[PortalOrderListParams, Depends(list_params(PortalOrderListParams))],
    me: CustomerDep,
    session: SessionDep,
) -> Page[OrderRead]:
    rows, next_cursor = await customer.list_orders(session, me, params)
    return Page(data=rows, next_cursor=next_cursor)


@portal_router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    summary="Place an order",
    description="From active catalog products at their prices; an inactive or unknown product "
    "is a 422 naming the line.",
    responses=_WRITE_ERRORS,
)
async def place_order(
    data: PortalOrderCreate, me: CustomerDep, session: SessionDep, response: Response
) -> OrderRead:
    order = await customer.place_order(session, me, data)
    response.headers["Location"] = f"/v1/portal/orders/{order.id}"
    return order


@portal_router.get(
    "/orders/{order_id:uuid}", summary="One of my orders", responses=problem_responses(404)
)
async def get_my_order(order_id: uuid.UUID, me: CustomerDep, session: SessionDep) -> OrderRead:
    return await customer.get_order(session, me, order_id)


@portal_router.get(
    "/products",
    summary="The catalog",
    description="Active products only.",
    openapi_extra=documented_params(PortalProductListParams),
)
async def list_catalog(
    params: Annotated[PortalProductListParams, Depends(list_params(PortalProductListParams))],
    me: CustomerDep,
    session: SessionDep,
) -> Page[ProductRead]:
    rows, next_cursor = await customer.list_products(session, me, params)
    return Page(data=rows, next_cursor=next_cursor)


@portal_router.get(
    "/data-export",
    summary="Everything held about me",
    description="My record, portal account, consent history, tickets with their public "
    "messages, orders, survey answers and the interactions logged with me, as JSON.",
)
async def export_my_data(me: CustomerDep, session: SessionDep) -> DataExport:
    return await customer.export(session, me)
