"""What a signed-in customer reads and does: their contact record, consents, tickets, orders
and a copy of everything held about them.

Every query here is bounded by `_tickets_seen` / `_orders_seen`: the customer's own records,
and with the workspace's company sharing on, their company's. A record outside that is a 404,
exactly like one that does not exist. Writes go through the same services staff use, recorded
as the portal user (`actor_type` portal_user).
"""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.consents import service as consent_records
from crm_api.contacts.schemas import ContactUpdate
from crm_api.contacts.service import update_contact
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Conflict, NotFound
from crm_api.core.events import record_event
from crm_api.core.pagination import ListParams, Sort, page_of, paginate, parse_sort
from crm_api.models import (
    Contact,
    Order,
    PortalUser,
    Product,
    Ticket,
    TicketMessage,
)
from crm_api.models.base import utcnow
from crm_api.orders import service as orders
from crm_api.orders.schemas import OrderCreate, OrderLineCreate, OrderRead
from crm_api.privacy.export import DataExport, subject_data
from crm_api.products.schemas import ProductRead
from crm_api.surveys import service as surveys
from crm_api.surveys.schemas import CsatCreate
from crm_api.tickets import service as tickets
from crm_api.tickets.schemas import MessageCreate, TicketCreate, TicketUpdate

from .auth import Customer
from .schemas import (
    ConsentsRead,
    ConsentState,
    ConsentsUpdate,
    MeRead,
    MeUpdate,
    PortalMessageListParams,
    PortalMessageRead,
    PortalOrderCreate,
    PortalOrderListParams,
    PortalProductListParams,
    PortalTicketCreate,
    PortalTicketListParams,
    PortalTicketRead,
    PreferencesRead,
    Rating,
    RatingRead,
)

CHANNEL_PURPOSES = {"email": "marketing_email", "sms": "marketing_sms", "phone": "marketing_phone"}


# --- Me ----------------------------------------------------------------------------------------


async def _contact(session: AsyncSession, customer: Customer) -> Contact:
    contact = await session.get(Contact, (customer.workspace_id, customer.contact_id))
    assert contact is not None  # checked with the access token
    return contact


async def _user(session: AsyncSession, customer: Customer, *, lock: bool = False) -> PortalUser:
    user = await session.get(
        PortalUser, (customer.workspace_id, customer.user_id), with_for_update=lock
    )
    assert user is not None  # checked with the access token
    return user


async def me(session: AsyncSession, customer: Customer) -> MeRead:
    contact = await _contact(session, customer)
    user = await _user(session, customer)
    return MeRead(
        id=contact.id,
        first_name=contact.first_name,
        last_name=contact.last_name,
        email=contact.email,
        phones=contact.phones,
        address=contact.address,
        company_id=contact.company_id,
        preferences=PreferencesRead.model_validate(user.preferences),
        version=contact.version,
    )


async def update_me(
    session: AsyncSession, customer: Customer, data: MeUpdate, if_match: IfMatch
) -> MeRead:
    sent = data.model_dump(include=data.model_fields_set - {"preferences"})
    await update_contact(
        session, customer.principal, customer.contact_id, ContactUpdate(**sent), if_match
    )
    if data.preferences is not None:
        user = await _user(session, customer, lock=True)
        user.preferences = {
            **user.preferences,
            **data.preferences.model_dump(include=data.preferences.model_fields_set),
        }
        user.updated_at = utcnow()
    return await me(session, customer)


# --- Consent -----------------------------------------------------------------------------------


async def consents(session: AsyncSession, customer: Customer) -> ConsentsRead:
    latest = await consent_records.latest(session, customer.workspace_id, customer.contact_id)

    def state(purpose: str) -> ConsentState:
        row = latest.get(purpose)
        if row is None:
            return ConsentState(granted=False, changed_at=None, source=None)
        return ConsentState(granted=row.granted, changed_at=row.recorded_at, source=row.source)

    return ConsentsRead(**{channel: state(p) for channel, p in CHANNEL_PURPOSES.items()})


async def update_consents(
    session: AsyncSession, customer: Customer, data: ConsentsUpdate
) -> ConsentsRead:
    """A record for each channel whose consent changes (time, source `portal`)."""
    await session.get(
        Contact, (customer.workspace_id, customer.contact_id), with_for_update=True
    )  # one change at a time per contact
    latest = await consent_records.latest(session, customer.workspace_id, customer.contact_id)
    for channel in data.model_fields_set:
        granted = getattr(data, channel)
        purpose = CHANNEL_PURPOSES[channel]
        current = latest.get(purpose)
        if current is not None and current.granted == granted:
            continue
        if current is None and not granted:
            continue  # nothing granted, nothing to withdraw
        await consent_records.record(
            session,
            customer.principal,
            customer.contact_id,
            purpose,
            granted=granted,
            source="portal",
            proof=f"{'Granted' if granted else 'Withdrawn'} by the customer in the portal.",
        )
    await session.flush()
    answer = await consents(session, customer)
    record_event(
        session, customer.principal, "contact.consents_changed", customer.contact_id, answer
    )
    return answer


async def _page(
    session: AsyncSession, statement: Any, id_column: Any, sort: Sort, params: ListParams
) -> tuple[list[Any], str | None]:
    rows = (await session.scalars(paginate(statement, id_column, sort, params))).all()
    return page_of(rows, sort, params)


# --- Tickets -----------------------------------------------------------------------------------


def _tickets_seen(customer: Customer) -> list[ColumnElement[bool]]:
    mine = Ticket.requester_id == customer.contact_id
    if customer.shares_company:
        mine = or_(mine, Ticket.company_id == customer.company_id)
    return [Ticket.workspace_id == customer.workspace_id, Ticket.archived_at.is_(None), mine]


async def _ticket(session: AsyncSession, customer: Customer, ticket_id: uuid.UUID) -> Ticket:
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == ticket_id, *_tickets_seen(customer))
    )
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


async def list_tickets(
    session: AsyncSession, customer: Customer, params: PortalTicketListParams
) -> tuple[list[PortalTicketRead], str | None]:
    sort = parse_sort(params.sort, {"created_at": Ticket.created_at})
    statement = select(Ticket).where(*_tickets_seen(customer))
    if params.status:
        statement = statement.where(Ticket.status.in_(params.status))
    page, cursor = await _page(session, statement, Ticket.id, sort, params)
    return [PortalTicketRead.model_validate(row) for row in page], cursor


async def get_ticket(session: AsyncSession, customer: Customer, ticket_id: uuid.UUID) -> Ticket:
    return await _ticket(session, customer, ticket_id)


async def open_ticket(
    session: AsyncSession, customer: Customer, data: PortalTicketCreate
) -> Ticket:
    return await tickets.create_ticket(
        session,
        customer.principal,
        TicketCreate(
            subject=data.subject,
            description=data.description,
            requester_id=customer.contact_id,
            company_id=customer.company_id,
            priority=data.priority,
            channel="portal",
        ),
    )


async def list_messages(
    session: AsyncSession, customer: Customer, ticket_id: uuid.UUID, params: PortalMessageListParams
) -> tuple[list[PortalMessageRead], str | None]:
    """Public messages only: internal notes never leave the staff API."""
    await _ticket(session, customer, ticket_id)
    sort = parse_sort(params.sort, {"created_at": TicketMessage.created_at})
    statement = select(TicketMessage).where(
        TicketMessage.workspace_id == customer.workspace_id,
        TicketMessage.ticket_id == ticket_id,
        TicketMessage.visibility == "public",
    )
    page, cursor = await _page(session, statement, TicketMessage.id, sort, params)
    return [PortalMessageRead.model_validate(row) for row in page], cursor


async def reply(
    session: AsyncSession, customer: Customer, ticket_id: uuid.UUID, body: str
) -> TicketMessage:
    await _ticket(session, customer, ticket_id)
    return await tickets.add_message(
        session,
        customer.principal,
        ticket_id,
        MessageCreate(body=body, visibility="public", author="requester"),
    )


async def close_ticket(session: AsyncSession, customer: Customer, ticket_id: uuid.UUID) -> Ticket:
    """The customer's "my problem is solved": solved (if not yet), then closed."""
    ticket = await _ticket(session, customer, ticket_id)
    if ticket.status == "closed":
        raise Conflict("The ticket is already closed.", allowed=[])
    no_check = IfMatch(None)
    if ticket.status != "solved":
        await tickets.update_ticket(
            session, customer.principal, ticket_id, TicketUpdate(status="solved"), no_check
        )
    return await tickets.update_ticket(
        session, customer.principal, ticket_id, TicketUpdate(status="closed"), no_check
    )


async def rate_ticket(
    session: AsyncSession, customer: Customer, ticket_id: uuid.UUID, data: Rating
) -> RatingRead:
    ticket = await _ticket(session, customer, ticket_id)
    if ticket.requester_id != customer.contact_id:
        raise Conflict("Only the customer who asked rates a ticket.", allowed=[])
    response = await surveys.create_response(
        session,
        customer.principal,
        CsatCreate(kind="csat", ticket_id=ticket_id, score=data.score, comment=data.comment),
    )
    return RatingRead(
        id=response.id,
        ticket_id=ticket_id,
        score=response.score,
        comment=response.comment,
        responded_at=response.responded_at,
    )


# --- Orders and products -----------------------------------------------------------------------


def _orders_seen(customer: Customer) -> list[ColumnElement[bool]]:
    mine = Order.contact_id == customer.contact_id
    if customer.shares_company:
        mine = or_(mine, Order.company_id == customer.company_id)
    return [Order.workspace_id == customer.workspace_id, mine]


async def list_orders(
    session: AsyncSession, customer: Customer, params: PortalOrderListParams
) -> tuple[list[OrderRead], str | None]:
    sort = parse_sort(params.sort, {"placed_at": Order.placed_at})
    statement = select(Order).where(*_orders_seen(customer))
    page, cursor = await _page(session, statement, Order.id, sort, params)
    return [await orders.read_order(session, order) for order in page], cursor


async def get_order(session: AsyncSession, customer: Customer, order_id: uuid.UUID) -> OrderRead:
    order = await session.scalar(select(Order).where(Order.id == order_id, *_orders_seen(customer)))
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return await orders.read_order(session, order)


async def place_order(
    session: AsyncSession, customer: Customer, data: PortalOrderCreate
) -> OrderRead:
    """At catalog prices, from active products only (others are a 422 naming the line)."""
    order = await orders.create_order(
        session,
        customer.principal,
        OrderCreate(
            contact_id=customer.contact_id,
            company_id=customer.company_id,
            note=data.note,
            lines=[
                OrderLineCreate(product_id=line.product_id, quantity=line.quantity)
                for line in data.lines
            ],
        ),
    )
    return await orders.read_order(session, order)


async def list_products(
    session: AsyncSession, customer: Customer, params: PortalProductListParams
) -> tuple[list[ProductRead], str | None]:
    sort = parse_sort(params.sort, {"name": Product.name})
    statement = select(Product).where(
        Product.workspace_id == customer.workspace_id, Product.active.is_(True)
    )
    page, cursor = await _page(session, statement, Product.id, sort, params)
    return [ProductRead.of(product) for product in page], cursor


# --- Data export -------------------------------------------------------------------------------


async def export(session: AsyncSession, customer: Customer) -> DataExport:
    """Everything held about the customer, as the portal shows it (privacy/export.py)."""
    return await subject_data(session, await _contact(session, customer), for_customer=True)
