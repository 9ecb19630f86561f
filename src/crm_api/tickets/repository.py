import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Ticket, TicketMessage

from .schemas import MessageListParams, TicketListParams

SORTABLE = {"created_at": Ticket.created_at, "updated_at": Ticket.updated_at}
MESSAGE_SORTABLE = {"created_at": TicketMessage.created_at}


async def get_ticket(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    ticket_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Ticket | None:
    statement = select(Ticket).where(Ticket.workspace_id == workspace_id, Ticket.id == ticket_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_tickets(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: TicketListParams,
    sort: Sort,
) -> Sequence[Ticket]:
    statement = select(Ticket).where(Ticket.workspace_id == workspace_id, *conditions)
    return (await session.scalars(paginate(statement, Ticket.id, sort, params))).all()


async def list_messages(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    ticket_id: uuid.UUID,
    params: MessageListParams,
    sort: Sort,
) -> Sequence[TicketMessage]:
    statement = select(TicketMessage).where(
        TicketMessage.workspace_id == workspace_id, TicketMessage.ticket_id == ticket_id
    )
    if params.visibility is not None:
        statement = statement.where(TicketMessage.visibility == params.visibility)
    return (await session.scalars(paginate(statement, TicketMessage.id, sort, params))).all()
