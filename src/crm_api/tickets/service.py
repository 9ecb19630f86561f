import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from crm_api.core.archive import change_archived, delete_archived, ensure_live
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range, search_condition
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, read_owned, sent_values, touch
from crm_api.custom_fields.values import filter_conditions, validated_values
from crm_api.interactions.sentiment import sentiment_of
from crm_api.members import service as members_service
from crm_api.models import SlaPolicy, Ticket, TicketMessage, TicketStatusChange, Workspace
from crm_api.models.base import utcnow

from . import repository, sla
from .schemas import (
    EscalationReason,
    MessageCreate,
    MessageListParams,
    MessageRead,
    SlaBreachRead,
    TicketCreate,
    TicketListParams,
    TicketRead,
    TicketUpdate,
)
from .workflow import check_transition

PRIORITY_UP = {"low": "normal", "normal": "high", "high": "urgent", "urgent": "urgent"}


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


async def _policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID | None
) -> SlaPolicy | None:
    if policy_id is None:
        return None
    policy = await repository.get_policy(session, principal.workspace_id, policy_id)
    if policy is None:
        raise invalid_field(["body", "sla_policy_id"], "no such SLA policy")
    return policy


def _use_policy(ticket: Ticket, policy: SlaPolicy | None) -> None:
    ticket.sla_policy_id = policy.id if policy is not None else None
    set_committed_value(ticket, "sla_policy", policy)


async def refresh_sla(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    now: datetime,
    *,
    escalate: bool = True,
) -> None:
    """Re-evaluate the ticket's SLA clocks after a change (or as time passes, from the sweep).
    A target breached for the first time emits `ticket.sla_breached`, and escalates the ticket
    while that target is still unmet."""
    await session.flush()
    clocks: list[sla.Clock] = []
    if ticket.sla_policy is not None:
        history = await repository.status_history(session, ticket.workspace_id, ticket.id)
        clocks = sla.evaluate(ticket.sla_policy, ticket, history, now)
    breached = sla.store(ticket, clocks)
    if not breached:
        return
    await session.flush()
    for clock in breached:
        read = TicketRead.model_validate(ticket).model_dump()
        breach = SlaBreachRead(**read, breached_target=clock.target)
        record_event(session, principal, "ticket.sla_breached", ticket.id, breach)
    unmet = next((clock for clock in breached if clock.state != "met"), None)
    if escalate and unmet is not None:
        reason: EscalationReason = (
            "first_response_breached" if unmet.target == "first_response" else "resolution_breached"
        )
        await escalate_ticket(session, principal, ticket, reason, now)


async def escalate_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket: Ticket,
    reason: EscalationReason,
    now: datetime,
) -> None:
    """Priority up one step, reassigned to the least loaded escalation target (if the workspace
    flags any), the reason kept on the ticket, and `ticket.escalated`."""
    before = TicketRead.model_validate(ticket).model_dump(mode="json")
    ticket.priority = PRIORITY_UP[ticket.priority]
    assignee = await repository.least_loaded_escalation_target(session, ticket)
    if assignee is not None:
        ticket.assignee_id = assignee
    ticket.escalation_reason, ticket.escalated_at = reason, now
    touch(ticket)
    await refresh_sla(session, principal, ticket, now, escalate=False)
    await session.flush()
    after = TicketRead.model_validate(ticket)
    record_update(session, principal, "ticket.escalated", ticket.id, before, after)


async def create_ticket(session: AsyncSession, principal: Principal, data: TicketCreate) -> Ticket:
    values = data.model_dump(exclude={"custom_fields", "sla_policy_id"})
    values["custom_fields"] = await validated_values(
        session, principal.workspace_id, "ticket", None, data.custom_fields
    )
    if "sla_policy_id" in data.model_fields_set:
        policy = await _policy(session, principal, data.sla_policy_id)
    else:
        policy = await repository.default_policy(session, principal.workspace_id)
    ticket = Ticket(workspace_id=principal.workspace_id, id=new_id(), status=None, **values)
    _set_status(session, principal, ticket, "new")
    session.add(ticket)
    _use_policy(ticket, policy)
    await refresh_sla(session, principal, ticket, utcnow())
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


async def read_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID
) -> TicketRead:
    """GET /v1/tickets/{id}: one prepared statement, no ORM objects."""
    columns = await read_owned(session, repository.READ_TICKET, principal, ticket_id, "ticket")
    version, business_hours = columns.pop("policy_version"), columns.pop("policy_business_hours")
    policy = None
    if columns["sla_policy_id"] is not None and version is not None:
        policy = SimpleNamespace(
            id=columns["sla_policy_id"], version=version, business_hours=business_hours
        )
    ticket = SimpleNamespace(**columns, sla_policy=policy)
    fields = {name: columns[name] for name in TicketRead.model_fields if name != "sla"}
    return TicketRead.model_validate({**fields, "sla": sla.view(ticket, utcnow())})


async def list_tickets(
    session: AsyncSession, principal: Principal, params: TicketListParams
) -> tuple[list[Ticket], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    now = utcnow()
    conditions: list[ColumnElement[bool]] = [
        Ticket.archived_at.is_not(None) if params.archived else Ticket.archived_at.is_(None),
        *in_range(Ticket.created_at, params.created_at_gte, params.created_at_lte),
        *in_range(Ticket.sla_due_at, params.sla_due_at_gte, params.sla_due_at_lte),
    ]
    if sort.field == "sla_due_at":
        conditions.append(Ticket.sla_due_at.is_not(None))
    if params.sla == "breached":
        conditions.append(or_(Ticket.sla_breached_at.is_not(None), Ticket.sla_due_at < now))
    elif params.sla == "at_risk":
        window = now + timedelta(minutes=params.at_risk_within_minutes)
        conditions += [Ticket.sla_due_at >= now, Ticket.sla_due_at <= window]
    exact: tuple[tuple[Any, Any], ...] = (
        (Ticket.requester_id, params.requester_id),
        (Ticket.company_id, params.company_id),
        (Ticket.assignee_id, params.assignee_id),
        (Ticket.sla_policy_id, params.sla_policy_id),
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
    conditions += await filter_conditions(
        session, principal.workspace_id, "ticket", Ticket.custom_fields, params.model_extra or {}
    )
    if params.q is not None:
        conditions.append(search_condition(Ticket.search_text, params.q))
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
    if "custom_fields" in changes:
        changes["custom_fields"] = await validated_values(
            session,
            principal.workspace_id,
            "ticket",
            ticket.custom_fields,
            changes["custom_fields"],
        )
    if "sla_policy_id" in changes:
        _use_policy(ticket, await _policy(session, principal, changes.pop("sla_policy_id")))
    apply_changes(ticket, changes, frozenset())
    touch(ticket)
    await refresh_sla(session, principal, ticket, utcnow())
    after = TicketRead.model_validate(ticket)
    record_update(session, principal, "ticket.updated", ticket.id, before, after)
    if status is not None and status != before["status"]:
        record_update(session, principal, "ticket.status_changed", ticket.id, before, after)
    return ticket


async def add_message(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, data: MessageCreate
) -> TicketMessage:
    """A reply or note, in a member's voice unless ``author`` says the requester's (a staff
    key's replies are its member's, else the workspace's first admin's). A member's first
    public reply sets first_responded_at; the requester
    answering a ticket pending on them reopens it (and restarts its SLA clock). The requester's
    message at or below the workspace's sentiment threshold escalates the ticket."""
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    ensure_live(ticket)
    by_member = data.author == "member"
    author_member_id = data.author_member_id
    if by_member and author_member_id is None:
        author_member_id = principal.member_id or await members_service.first_admin_id(
            session, principal
        )
        if author_member_id is None:
            raise invalid_field(
                ["body", "author_member_id"],
                "no member to write as: name one, give the API key a member_id, or make a "
                "member an admin (the workspace's owner)",
            )
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
        author_member_id=author_member_id,
        body=data.body,
        sentiment=None if by_member else sentiment_of(data.body),
        created_at=utcnow(),
    )
    session.add(message)
    if by_member and data.visibility == "public" and ticket.first_responded_at is None:
        ticket.first_responded_at = message.created_at
    reopened = not by_member and ticket.status in {"pending", "solved"}
    if reopened:
        _set_status(session, principal, ticket, "open")
    touch(ticket)
    await refresh_sla(session, principal, ticket, message.created_at)
    if message.sentiment is not None and message.sentiment <= await _threshold(session, principal):
        await escalate_ticket(session, principal, ticket, "negative_sentiment", message.created_at)
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


async def _threshold(session: AsyncSession, principal: Principal) -> Decimal:
    workspace = await session.get(Workspace, principal.workspace_id)
    assert workspace is not None  # the caller's key belongs to it
    return workspace.escalation_sentiment_threshold


async def escalate_on_sentiment(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, sentiment: Decimal | None
) -> None:
    """An inbound interaction about a ticket escalates it as a requester's message would."""
    if sentiment is None or sentiment > await _threshold(session, principal):
        return
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    if ticket.archived_at is None and ticket.status != "closed":
        await escalate_ticket(session, principal, ticket, "negative_sentiment", utcnow())


async def reapply_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, policy: SlaPolicy | None
) -> None:
    """After a policy changed (or, with None, before it goes): re-evaluate its tickets that are
    not closed, recording and escalating any breach the change reveals."""
    now = utcnow()
    for ticket in await repository.live_tickets_of_policy(
        session, principal.workspace_id, policy_id
    ):
        before = TicketRead.model_validate(ticket).model_dump(mode="json")
        _use_policy(ticket, policy)
        touch(ticket)
        await refresh_sla(session, principal, ticket, now)
        after = TicketRead.model_validate(ticket)
        record_update(session, principal, "ticket.updated", ticket.id, before, after)


async def sweep_sla_breaches(
    sessionmaker: async_sessionmaker[AsyncSession], limit: int = 100
) -> int:
    """Record the SLA breaches that time alone has caused, in one transaction per batch.

    Each ticket is locked while it is evaluated and a breach is stored once per target, so
    sweeps running side by side (or with a request changing the ticket) never record one twice.
    Returns how many tickets were looked at; call again while it returns ``limit``.
    """
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        tickets = await repository.overdue_tickets(session, now, limit)
        for ticket in tickets:
            principal = Principal.system(ticket.workspace_id)
            before = TicketRead.model_validate(ticket).model_dump(mode="json")
            await refresh_sla(session, principal, ticket, now)
            touch(ticket)
            await session.flush()
            after = TicketRead.model_validate(ticket)
            record_update(session, principal, "ticket.updated", ticket.id, before, after)
    return len(tickets)


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


async def delete_ticket(
    session: AsyncSession, principal: Principal, ticket_id: uuid.UUID, if_match: IfMatch
) -> None:
    ticket = await get_ticket(session, principal, ticket_id, for_update=True)
    await delete_archived(
        session, principal, ticket, if_match, resource="ticket", snapshot=TicketRead.model_validate
    )
