"""Subject access: everything held about a person, as JSON.

Two views of the same data: the staff's (`GET /v1/contacts/{id}/data-export`: every field,
internal notes and note interactions included) and the customer's own (`/v1/portal/
data-export`: what the portal shows, so no staff-only fields or internal notes).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts.schemas import ContactRead
from crm_api.core.schemas import ReadSchema
from crm_api.models import (
    Contact,
    ContactConsent,
    Deal,
    DealContact,
    Interaction,
    LifecycleChange,
    Order,
    PortalUser,
    SurveyResponse,
    Task,
    Ticket,
    TicketMessage,
)
from crm_api.models.base import utcnow
from crm_api.orders.service import read_order

_STAFF_ONLY = {"owner_id", "tags", "custom_fields", "lead_score"}


class DataExport(ReadSchema):
    """Everything held about the person, as of `exported_at`."""

    exported_at: datetime
    contact: dict[str, Any]
    portal_account: dict[str, Any] | None
    consents: list[dict[str, Any]]
    tickets: list[dict[str, Any]] = Field(description="Each with its messages.")
    orders: list[dict[str, Any]]
    survey_responses: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    tasks: list[dict[str, Any]] = Field(
        description="Tasks about the person (staff's view only: empty in the customer's)."
    )
    deals: list[dict[str, Any]] = Field(description="Deals the person is linked to, and as what.")
    lifecycle_changes: list[dict[str, Any]]


def _plain(rows: Sequence[Any], *fields: str) -> list[dict[str, Any]]:
    return [{name: getattr(row, name) for name in fields} for row in rows]


async def _held(
    session: AsyncSession,
    contact: Contact,
    model: Any,
    person: Any,
    time: Any,
    *more: ColumnElement[bool],
) -> Sequence[Any]:
    """The model's rows about the person (`person` is the column naming them), oldest first."""
    statement = (
        select(model)
        .where(model.workspace_id == contact.workspace_id, person == contact.id, *more)
        .order_by(time, model.id)
    )
    return (await session.scalars(statement)).all()


async def subject_data(
    session: AsyncSession, contact: Contact, *, for_customer: bool
) -> DataExport:
    ws = contact.workspace_id
    tickets = await _held(session, contact, Ticket, Ticket.requester_id, Ticket.created_at)
    visible = [TicketMessage.visibility == "public"] if for_customer else []
    messages = (
        await session.scalars(
            select(TicketMessage)
            .join(
                Ticket,
                (Ticket.workspace_id == TicketMessage.workspace_id)
                & (Ticket.id == TicketMessage.ticket_id),
            )
            .where(TicketMessage.workspace_id == ws, Ticket.requester_id == contact.id, *visible)
            .order_by(TicketMessage.created_at, TicketMessage.id)
        )
    ).all()
    by_ticket: dict[uuid.UUID, list[dict[str, Any]]] = {}
    message_fields = ["author_type", "body", "created_at"]
    if not for_customer:
        message_fields += ["visibility", "author_member_id"]
    for message in messages:
        by_ticket.setdefault(message.ticket_id, []).append(_plain([message], *message_fields)[0])
    ticket_fields = ["id", "subject", "description", "status", "priority", "created_at"]
    if not for_customer:
        ticket_fields += ["channel", "assignee_id", "tags", "custom_fields"]
    orders = await _held(session, contact, Order, Order.contact_id, Order.placed_at)
    consents = await _held(
        session, contact, ContactConsent, ContactConsent.contact_id, ContactConsent.recorded_at
    )
    answers = await _held(
        session, contact, SurveyResponse, SurveyResponse.contact_id, SurveyResponse.responded_at
    )
    notes = [Interaction.kind != "note"] if for_customer else []
    interactions = await _held(
        session, contact, Interaction, Interaction.contact_id, Interaction.occurred_at, *notes
    )
    tasks = (
        []
        if for_customer
        else await _held(session, contact, Task, Task.contact_id, Task.created_at)
    )
    deals = (
        []
        if for_customer
        else (
            await session.execute(
                select(Deal.id, Deal.name, DealContact.role)
                .join(
                    DealContact,
                    (DealContact.workspace_id == Deal.workspace_id)
                    & (DealContact.deal_id == Deal.id),
                )
                .where(Deal.workspace_id == ws, DealContact.contact_id == contact.id)
                .order_by(Deal.id)
            )
        ).all()
    )
    stages = await _held(
        session, contact, LifecycleChange, LifecycleChange.contact_id, LifecycleChange.changed_at
    )
    account = await session.scalar(
        select(PortalUser).where(PortalUser.workspace_id == ws, PortalUser.contact_id == contact.id)
    )
    record = ContactRead.model_validate(contact).model_dump(
        mode="json", exclude=_STAFF_ONLY if for_customer else None
    )
    return DataExport(
        exported_at=utcnow(),
        contact=record,
        portal_account=None
        if account is None
        else {
            **_plain([account], "id", "email", "status", "invited_at", "last_sign_in_at")[0],
            "preferences": account.preferences,
        },
        consents=_plain(consents, "purpose", "granted", "source", "proof", "recorded_at"),
        tickets=[
            {**_plain([ticket], *ticket_fields)[0], "messages": by_ticket.get(ticket.id, [])}
            for ticket in tickets
        ],
        orders=[(await read_order(session, order)).model_dump(mode="json") for order in orders],
        survey_responses=_plain(answers, "kind", "score", "comment", "ticket_id", "responded_at"),
        interactions=_plain(
            interactions, "kind", "direction", "subject", "body", "occurred_at", "duration_seconds"
        ),
        tasks=_plain(
            tasks, "id", "title", "description", "status", "priority", "due_at", "completed_at"
        ),
        deals=[{"id": deal_id, "name": name, "role": role} for deal_id, name, role in deals],
        lifecycle_changes=_plain(stages, "from_stage", "to_stage", "changed_at"),
    )
