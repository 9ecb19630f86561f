import uuid
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.archive import change_archived, ensure_live, purge
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, sent_values, touch
from crm_api.models import Ticket, TicketMessage, TicketStatusChange
from crm_api.models.base import utcnow

from . import repository
from .schemas import (
    MessageCreate,
    MessageListParams,
    MessageRead,
    TicketCreate,
    TicketListParams,
    TicketRead,
    TicketUpdate,
)
from .workflow import check_transition


def _set_status(session: AsyncSession, principal: Principal, ticket: Ticket, status: str) -> None:
    """Enter ``status``, keeping the history row the SLA clocks read their pauses from."""
    now = utcnow()
    session.add(
        TicketStatusChange(
            workspace_id=ticket.workspace_id,
            ticket_id=ticket.id,
            from_status=ticket.status,
            to_status=status,
            changed_at=now,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
        )
    )
    ticket.status, ticket.status_changed_at = status, now
    if status == "solved":
        ticket.solved_at = now
    elif status == "closed":
        ticket.closed_at = now
    else:
        ticket.solved_at = None


async def create_ticket(session: AsyncSession, principal: Principal, data: TicketCreate) -> Ticket:
    ticket = Ticket(
        workspace_id=principal.workspace_id, id=new_id(), status=None, **data.model_dump()
    )
    _set_status(session, principal, ticket, "new")
    session.add(ticket)
    await session.flush()
    record_event(session, principal, "ticket.created", ticket.id, TicketRead.model_validate(ticket))
    return ticket


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, *, for_update: bool = False
) -> Ticket:
    ticket = await repository.get_ticket(
        session, principal.workspace_id, ticket_id, for_update=for_update
    )
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


async def list_tickets(
    session: AsyncSession, principal: Principal, params: TicketListParams
) -> tuple[list[Ticket], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions: list[ColumnElement[bool]] = [
        Ticket.archived_at.is_not(None) if params.archived else Ticket.archived_at.is_(None),
        *in_range(Ticket.created_at, params.created_at_gte, params.created_at_lte),
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (Ticket.requester_id, params.requester_id),
        (Ticket.company_id, params.company_id),
        (Ticket.assignee_id, params.assignee_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    for column, values in (
        (Ticket.status, params.status),
        (Ticket.priority, params.priority),
        (Ticket.channel, params.channel),
    ):
        if values:
            conditions.append(column.in_(values))
    if params.tags:
        conditions.append(Ticket.tags.contains(params.tags))
    rows = await repository.list_tickets(session, principal.workspace_id, conditions, params, sort)
    return page_of(rows, sort, params)


async def update_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    if_match: IfMatch,
) -> Ticket:
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    if_match.check(ticket.version)
    ensure_live(ticket)
    changes = sent_values(data, frozenset())
    if not changes:
        return ticket
    before = TicketRead.model_validate(ticket).model_dump(mode="json")
    status = changes.pop("status", None)
    if status is not None and status != ticket.status:
        check_transition(ticket.status, status)
        _set_status(session, principal, ticket, status)
    apply_changes(ticket, changes, frozenset())
    touch(ticket)
    await session.flush()
    after = TicketRead.model_validate(ticket)
    record_update(session, principal, "ticket.updated", ticket.id, before, after)
    if status is not None and status != before["status"]:
        record_update(session, principal, "ticket.status_changed", ticket.id, before, after)
    return ticket


async def add_message(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, data: MessageCreate
) -> TicketMessage:
    """A reply or note. A member's first public reply sets first_responded_at; the requester
    answering a ticket pending on them reopens it (and restarts its SLA clock)."""
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    ensure_live(ticket)
    by_member = data.author_member_id is not None
    if not by_member and data.visibility == "internal":
        raise invalid_field(["body", "visibility"], "only members write internal notes")
    if ticket.status == "closed":
        check_transition("closed", "open")
    before = TicketRead.model_validate(ticket).model_dump(mode="json")
    message = TicketMessage(
        workspace_id=principal.workspace_id,
        ticket_id=ticket.id,
        visibility=data.visibility,
        author_type="member" if by_member else "requester",
        author_member_id=data.author_member_id,
        body=data.body,
    )
    session.add(message)
    if by_member and data.visibility == "public" and ticket.first_responded_at is None:
        ticket.first_responded_at = message.created_at = utcnow()
    reopened = not by_member and ticket.status in {"pending", "solved"}
    if reopened:
        _set_status(session, principal, ticket, "open")
    touch(ticket)
    await session.flush()
    record_event(
        session,
        principal,
        "ticket.message_created",
        message.id,
        MessageRead.model_validate(message),
    )
    after = TicketRead.model_validate(ticket)
    record_update(session, principal, "ticket.updated", ticket.id, before, after)
    if reopened:
        record_update(session, principal, "ticket.status_changed", ticket.id, before, after)
    return message


async def list_messages(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, params: MessageListParams
) -> tuple[list[TicketMessage], str | None]:
    await get_ticket(session, principal, ticket_id)
    sort = parse_sort(params.sort, repository.MESSAGE_SORTABLE)
    rows = await repository.list_messages(session, principal.workspace_id, ticket_id, params, sort)
    return page_of(rows, sort, params)


async def archive_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: uuid.UUID,
    if_match: IfMatch,
    *,
    archived: bool,
) -> Ticket:
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    await change_archived(
        session,
        principal,
        ticket,
        if_match,
        archived=archived,
        resource="ticket",
        snapshot=TicketRead.model_validate,
    )
    return ticket


async def purge_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, if_match: IfMatch
) -> None:
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    await purge(
        session, principal, ticket, if_match, resource="ticket", snapshot=TicketRead.model_validate
    )
