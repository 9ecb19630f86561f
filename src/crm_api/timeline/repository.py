"""The customer timeline: one query over interactions, tasks, deal stage changes and lifecycle
changes. Each branch reads at most one page from its own index, newest first, from the cursor
on; the union is sorted and cut once more. So a page costs the same at any timeline length."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, literal, or_, select, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from crm_api.models import (
    Contact,
    Deal,
    DealContact,
    DealStageChange,
    Interaction,
    LifecycleChange,
    Task,
    Ticket,
    TicketStatusChange,
)

Bound = tuple[datetime, uuid.UUID] | None


def _branch(
    kind: str,
    model: Any,
    occurred_at: InstrumentedAttribute[datetime],
    data: ColumnElement[Any],
    conditions: Sequence[ColumnElement[bool]],
    after: Bound,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> Select[Any]:
    statement = select(
        literal(kind).label("kind"),
        model.id.label("id"),
        occurred_at.label("occurred_at"),
        data.label("data"),
    ).where(*conditions)
    if after is not None:
        statement = statement.where(tuple_(occurred_at, model.id) < tuple_(*after))
    if since is not None:
        statement = statement.where(occurred_at >= since)
    if until is not None:
        statement = statement.where(occurred_at <= until)
    return statement.order_by(occurred_at.desc(), model.id.desc()).limit(limit)


# Per kind of entry: its table, its time column, and the fields its data shows.
_ENTRIES: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "interaction": (
        Interaction,
        Interaction.occurred_at,
        {
            "interaction_kind": Interaction.kind,
            "direction": Interaction.direction,
            "subject": Interaction.subject,
            "contact_id": Interaction.contact_id,
            "sentiment": Interaction.sentiment,
        },
    ),
    "task": (
        Task,
        Task.created_at,
        {
            "title": Task.title,
            "status": Task.status,
            "due_at": Task.due_at,
            "assignee_id": Task.assignee_id,
        },
    ),
    "lifecycle_change": (
        LifecycleChange,
        LifecycleChange.changed_at,
        {
            "contact_id": LifecycleChange.contact_id,
            "from_stage": LifecycleChange.from_stage,
            "to_stage": LifecycleChange.to_stage,
        },
    ),
    "deal_stage_change": (
        DealStageChange,
        DealStageChange.changed_at,
        {
            "deal_id": DealStageChange.deal_id,
            "from_stage_id": DealStageChange.from_stage_id,
            "to_stage_id": DealStageChange.to_stage_id,
        },
    ),
    "ticket_status_change": (
        TicketStatusChange,
        TicketStatusChange.changed_at,
        {
            "ticket_id": TicketStatusChange.ticket_id,
            "from_status": TicketStatusChange.from_status,
            "to_status": TicketStatusChange.to_status,
        },
    ),
}


def _contact_ties(workspace_id: uuid.UUID, contact_id: uuid.UUID) -> dict[str, ColumnElement[bool]]:
    """What ties each kind of entry to a contact: theirs, or their deals' and tickets'."""
    deals = select(DealContact.deal_id).where(
        DealContact.workspace_id == workspace_id, DealContact.contact_id == contact_id
    )
    tickets = select(Ticket.id).where(
        Ticket.workspace_id == workspace_id, Ticket.requester_id == contact_id
    )
    return {
        "interaction": Interaction.contact_id == contact_id,
        "task": Task.contact_id == contact_id,
        "lifecycle_change": LifecycleChange.contact_id == contact_id,
        "deal_stage_change": DealStageChange.deal_id.in_(deals),
        "ticket_status_change": TicketStatusChange.ticket_id.in_(tickets),
    }


def _company_ties(workspace_id: uuid.UUID, company_id: uuid.UUID) -> dict[str, ColumnElement[bool]]:
    """A company's 360° view: what is filed under it, and what its people did."""
    deals = select(Deal.id).where(Deal.workspace_id == workspace_id, Deal.company_id == company_id)
    contacts = select(Contact.id).where(
        Contact.workspace_id == workspace_id, Contact.company_id == company_id
    )
    tickets = select(Ticket.id).where(
        Ticket.workspace_id == workspace_id,
        or_(Ticket.company_id == company_id, Ticket.requester_id.in_(contacts)),
    )
    return {
        "interaction": or_(
            Interaction.company_id == company_id, Interaction.contact_id.in_(contacts)
        ),
        "task": or_(Task.company_id == company_id, Task.contact_id.in_(contacts)),
        "lifecycle_change": LifecycleChange.contact_id.in_(contacts),
        "deal_stage_change": DealStageChange.deal_id.in_(deals),
        "ticket_status_change": TicketStatusChange.ticket_id.in_(tickets),
    }


def _branches(
    workspace_id: uuid.UUID, *, contact_id: uuid.UUID | None, company_id: uuid.UUID | None
) -> dict[str, tuple[Any, Any, ColumnElement[Any], list[ColumnElement[bool]]]]:
    """Per kind: the table, its time column, the entry's data, and what ties it to the customer."""
    if contact_id is not None:
        ties = _contact_ties(workspace_id, contact_id)
    else:
        assert company_id is not None
        ties = _company_ties(workspace_id, company_id)
    return {
        kind: (
            model,
            occurred_at,
            func.jsonb_build_object(*(part for pair in fields.items() for part in pair)),
            [model.workspace_id == workspace_id, ties[kind]],
        )
        for kind, (model, occurred_at, fields) in _ENTRIES.items()
    }


def timeline_statement(
    workspace_id: uuid.UUID,
    *,
    contact_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
    kinds: Sequence[str] | None = None,
    after: Bound = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
) -> Select[Any]:
    branches = [
        _branch(kind, model, column, data, conditions, after, since, until, limit)
        for kind, (model, column, data, conditions) in _branches(
            workspace_id, contact_id=contact_id, company_id=company_id
        ).items()
        if not kinds or kind in kinds
    ]
    entries = union_all(*branches).subquery()
    return select(entries).order_by(entries.c.occurred_at.desc(), entries.c.id.desc()).limit(limit)


async def timeline(
    session: AsyncSession, workspace_id: uuid.UUID, **options: Any
) -> Sequence[Row[Any]]:
    rows: Sequence[Row[Any]] = (
        await session.execute(timeline_statement(workspace_id, **options))
    ).all()
    return rows
