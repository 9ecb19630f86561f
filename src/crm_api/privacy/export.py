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
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts.schemas import ContactRead
from crm_api.core.schemas import ReadSchema
from crm_api.models import (
    Contact,
    ContactConsent,
    Interaction,
    LifecycleChange,
    Order,
    SurveyResponse,
    Task,
    Ticket,
)
from crm_api.models.base import utcnow
from crm_api.orders.service import read_order

from . import repository

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


async def _tickets(
    session: AsyncSession, contact: Contact, *, for_customer: bool
) -> list[dict[str, Any]]:
    """The person's tickets, each with its messages (public ones only in the customer's view)."""
    tickets = await repository.held(
        session, contact, Ticket, Ticket.requester_id, Ticket.created_at
    )
    messages = await repository.ticket_messages_of(session, contact, public_only=for_customer)
    message_fields = ["author_type", "body", "created_at"]
    ticket_fields = ["id", "subject", "description", "status", "priority", "created_at"]
    if not for_customer:
        message_fields += ["visibility", "author_member_id"]
        ticket_fields += ["channel", "assignee_id", "tags", "custom_fields"]
    by_ticket: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for message in messages:
        by_ticket.setdefault(message.ticket_id, []).append(_plain([message], *message_fields)[0])
    return [
        {**_plain([ticket], *ticket_fields)[0], "messages": by_ticket.get(ticket.id, [])}
        for ticket in tickets
    ]


async def _portal_account(session: AsyncSession, contact: Contact) -> dict[str, Any] | None:
    account = await repository.portal_account_of(session, contact)
    if account is None:
        return None
    fields = ("id", "email", "status", "invited_at", "last_sign_in_at")
    return {**_plain([account], *fields)[0], "preferences": account.preferences}


async def subject_data(
    session: AsyncSession, contact: Contact, *, for_customer: bool
) -> DataExport:
    def held(model: Any, person: Any, time: Any, *more: Any) -> Any:
        return repository.held(session, contact, model, person, time, *more)

    orders = await held(Order, Order.contact_id, Order.placed_at)
    consents = await held(ContactConsent, ContactConsent.contact_id, ContactConsent.recorded_at)
    answers = await held(SurveyResponse, SurveyResponse.contact_id, SurveyResponse.responded_at)
    notes = [Interaction.kind != "note"] if for_customer else []
    interactions = await held(Interaction, Interaction.contact_id, Interaction.occurred_at, *notes)
    # Staff's view only: the tasks about the person and the deals they are linked to.
    tasks = [] if for_customer else await held(Task, Task.contact_id, Task.created_at)
    deals = [] if for_customer else await repository.deal_links_of(session, contact)
    stages = await held(LifecycleChange, LifecycleChange.contact_id, LifecycleChange.changed_at)
    record = ContactRead.model_validate(contact).model_dump(
        mode="json", exclude=_STAFF_ONLY if for_customer else None
    )
    return DataExport(
        exported_at=utcnow(),
        contact=record,
        portal_account=await _portal_account(session, contact),
        consents=_plain(consents, "purpose", "granted", "source", "proof", "recorded_at"),
        tickets=await _tickets(session, contact, for_customer=for_customer),
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
