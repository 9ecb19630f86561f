import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.db import PreparedQuery
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Member, SlaPolicy, Ticket, TicketMessage, TicketStatusChange

from .schemas import MessageListParams, TicketListParams

SORTABLE = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "sla_due_at": Ticket.sla_due_at,
}
OPEN_STATUSES = ("new", "open", "pending", "on_hold")
# GET /v1/tickets/{id} in one round trip, without ORM objects: the ticket's columns (its
# search text aside) and what its SLA view needs of its policy.
READ_TICKET = PreparedQuery(
    select(
        *(column for column in Ticket.__table__.c if column.name != "search_text"),
        SlaPolicy.version.label("policy_version"),
        SlaPolicy.business_hours.label("policy_business_hours"),
    )
    .select_from(Ticket)
    .outerjoin(
        SlaPolicy,
        and_(SlaPolicy.workspace_id == Ticket.workspace_id, SlaPolicy.id == Ticket.sla_policy_id),
    )
    .where(Ticket.workspace_id == bindparam("workspace_id"), Ticket.id == bindparam("id"))
)
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


async def status_history(
    session: AsyncSession, workspace_id: uuid.UUID, ticket_id: uuid.UUID
) -> list[tuple[str, datetime]]:
    """(status, entered at), oldest first: what the SLA clocks read their pauses from."""
    rows = await session.execute(
        select(TicketStatusChange.to_status, TicketStatusChange.changed_at)
        .where(
            TicketStatusChange.workspace_id == workspace_id,
            TicketStatusChange.ticket_id == ticket_id,
        )
        .order_by(TicketStatusChange.changed_at, TicketStatusChange.id)
    )
    return [(status, changed_at) for status, changed_at in rows]


async def get_policy(
    session: AsyncSession, workspace_id: uuid.UUID, policy_id: uuid.UUID
) -> SlaPolicy | None:
    return await session.get(SlaPolicy, (workspace_id, policy_id))


async def default_policy(session: AsyncSession, workspace_id: uuid.UUID) -> SlaPolicy | None:
    return await session.scalar(
        select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.is_default)
    )


async def least_loaded_escalation_target(session: AsyncSession, ticket: Ticket) -> uuid.UUID | None:
    """The member flagged as escalation target with the fewest open tickets besides this one
    (ties go to the earliest member)."""
    open_ticket = and_(
        Ticket.workspace_id == Member.workspace_id,
        Ticket.assignee_id == Member.id,
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.archived_at.is_(None),
        Ticket.id != ticket.id,
    )
    return await session.scalar(
        select(Member.id)
        .outerjoin(Ticket, open_ticket)
        .where(Member.workspace_id == ticket.workspace_id, Member.escalation_target)
        .group_by(Member.id)
        .order_by(func.count(Ticket.id), Member.id)
        .limit(1)
    )


async def overdue_tickets(session: AsyncSession, now: datetime, limit: int) -> Sequence[Ticket]:
    """Tickets, of any workspace, whose next SLA deadline has passed unrecorded; locked, and
    skipping those another sweep holds."""
    statement = (
        select(Ticket)
        .where(Ticket.sla_due_at < now)
        .order_by(Ticket.sla_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=Ticket)
    )
    return (await session.scalars(statement)).all()


async def live_tickets_of_policy(
    session: AsyncSession, workspace_id: uuid.UUID, policy_id: uuid.UUID
) -> Sequence[Ticket]:
    statement = (
        select(Ticket)
        .where(
            Ticket.workspace_id == workspace_id,
            Ticket.sla_policy_id == policy_id,
            Ticket.status != "closed",
        )
        .with_for_update(of=Ticket)
    )
    return (await session.scalars(statement)).all()
