"""What is held about a person: read for a subject access export (export.py), removed or
anonymised for an erasure (erase.py; each statement returns the ids it touched)."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Uuid,
    any_,
    bindparam,
    cast,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.models import (
    AuditEntry,
    Contact,
    ContactConsent,
    ContactMerge,
    Deal,
    DealContact,
    EmailMessage,
    ErasedEmail,
    Event,
    IdempotencyKey,
    Interaction,
    Order,
    PortalUser,
    SurveyResponse,
    Task,
    Ticket,
    TicketMessage,
)

ERASED = "[erased]"


async def held(
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


async def ticket_messages_of(
    session: AsyncSession, contact: Contact, *, public_only: bool
) -> Sequence[TicketMessage]:
    """The messages of the tickets the person opened, oldest first."""
    visible = [TicketMessage.visibility == "public"] if public_only else []
    statement = (
        select(TicketMessage)
        .join(
            Ticket,
            (Ticket.workspace_id == TicketMessage.workspace_id)
            & (Ticket.id == TicketMessage.ticket_id),
        )
        .where(
            TicketMessage.workspace_id == contact.workspace_id,
            Ticket.requester_id == contact.id,
            *visible,
        )
        .order_by(TicketMessage.created_at, TicketMessage.id)
    )
    return (await session.scalars(statement)).all()


async def deal_links_of(session: AsyncSession, contact: Contact) -> Sequence[Any]:
    """(deal id, deal name, role) of each deal the person is linked to."""
    statement = (
        select(Deal.id, Deal.name, DealContact.role)
        .join(
            DealContact,
            (DealContact.workspace_id == Deal.workspace_id) & (DealContact.deal_id == Deal.id),
        )
        .where(Deal.workspace_id == contact.workspace_id, DealContact.contact_id == contact.id)
        .order_by(Deal.id)
    )
    return (await session.execute(statement)).all()


async def portal_account_of(session: AsyncSession, contact: Contact) -> PortalUser | None:
    return await session.scalar(
        select(PortalUser).where(
            PortalUser.workspace_id == contact.workspace_id, PortalUser.contact_id == contact.id
        )
    )


def _ids(ids: Sequence[uuid.UUID]) -> Any:
    """One array parameter, however many ids (an IN list has a parameter each)."""
    return bindparam("ids", list(ids), type_=ARRAY(Uuid()), unique=True)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _ids_of(session: AsyncSession, statement: Any) -> list[uuid.UUID]:
    return list((await session.scalars(statement)).all())


async def remember_erased_email(
    session: AsyncSession, ws: uuid.UUID, email_hash: bytes, now: datetime
) -> None:
    await session.execute(
        insert(ErasedEmail)
        .values(workspace_id=ws, email_hash=email_hash, erased_at=now)
        .on_conflict_do_nothing()
    )


async def scrub_records_of(
    session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, list[uuid.UUID]]:
    """The person's own records keep their figures and lose their words; their portal account
    goes. By kind, the ids touched."""
    tickets = await _ids_of(
        session,
        update(Ticket)
        .where(Ticket.workspace_id == ws, Ticket.requester_id == contact_id)
        .values(subject=ERASED, description=None, custom_fields={}, tags=[])
        .returning(Ticket.id),
    )
    scrubbed = {
        "tickets": tickets,
        "ticket_messages": await _ids_of(
            session,
            update(TicketMessage)
            .where(TicketMessage.workspace_id == ws, TicketMessage.ticket_id == any_(_ids(tickets)))
            .values(body=ERASED)
            .returning(TicketMessage.id),
        ),
    }
    owned: dict[str, tuple[Any, Any, dict[str, Any]]] = {  # model, its contact, what goes
        "interactions": (
            Interaction,
            Interaction.contact_id,
            {"subject": None, "body": None, "outcome": None},
        ),
        "tasks": (Task, Task.contact_id, {"title": ERASED, "description": None}),
        "orders": (Order, Order.contact_id, {"note": None}),
        "survey_responses": (SurveyResponse, SurveyResponse.contact_id, {"comment": None}),
        "consents": (ContactConsent, ContactConsent.contact_id, {"proof": None}),
    }
    for name, (model, contact, erased) in owned.items():
        scrubbed[name] = await _ids_of(
            session,
            update(model)
            .where(model.workspace_id == ws, contact == contact_id)
            .values(**erased)
            .returning(model.id),
        )
    scrubbed["portal_accounts"] = await _ids_of(
        session,
        delete(PortalUser)
        .where(PortalUser.workspace_id == ws, PortalUser.contact_id == contact_id)
        .returning(PortalUser.id),
    )
    return scrubbed


async def delete_mail_to(
    session: AsyncSession, ws: uuid.UUID, addresses: Sequence[str]
) -> list[uuid.UUID]:
    """The mail sent to the person's addresses, gone with its text."""
    return await _ids_of(
        session,
        delete(EmailMessage)
        .where(
            EmailMessage.workspace_id == ws,
            func.lower(EmailMessage.to_address).in_([address.lower() for address in addresses]),
        )
        .returning(EmailMessage.id),
    )


async def forget_merged_duplicates(
    session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID
) -> list[uuid.UUID]:
    """The snapshots of the duplicates merged into the person."""
    return await _ids_of(
        session,
        update(ContactMerge)
        .where(ContactMerge.workspace_id == ws, ContactMerge.target_id == contact_id)
        .values(source={"erased": True})
        .returning(ContactMerge.id),
    )


async def linked_deals(
    session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID
) -> Sequence[Deal]:
    """The deals the person is linked to, locked for rewriting their texts."""
    linked = select(DealContact.deal_id).where(
        DealContact.workspace_id == ws, DealContact.contact_id == contact_id
    )
    statement = select(Deal).where(Deal.workspace_id == ws, Deal.id.in_(linked)).with_for_update()
    return (await session.scalars(statement)).all()


async def scrub_documents(
    session: AsyncSession, ws: uuid.UUID, records: Sequence[uuid.UUID], values: Sequence[str]
) -> dict[str, list[uuid.UUID]]:
    """Stored documents about these records, or quoting the person's values anywhere: events,
    audit entries and replayable Idempotency-Key responses. By kind, the ids touched."""
    quoting = [cast(Event.data, String).icontains(value, autoescape=True) for value in values]
    quoting += [cast(Event.previous, String).icontains(value, autoescape=True) for value in values]
    scrubbed = {
        "events": await _ids_of(
            session,
            update(Event)
            .where(
                Event.workspace_id == ws, or_(Event.resource_id == any_(_ids(records)), *quoting)
            )
            .values(data={"erased": True}, previous=None)
            .returning(Event.id),
        )
    }
    audit_quoting = [
        cast(AuditEntry.changes, String).icontains(value, autoescape=True) for value in values
    ]
    scrubbed["audit_entries"] = await _ids_of(
        session,
        update(AuditEntry)
        .where(
            AuditEntry.workspace_id == ws,
            or_(AuditEntry.record_id == any_(_ids(records)), *audit_quoting),
        )
        .values(changes={"erased": True})
        .returning(AuditEntry.id),
    )
    stored = [
        IdempotencyKey.response_body.op("LIKE")(func.convert_to(f"%{_escaped(value)}%", "UTF8"))
        for value in values
    ]
    if stored:
        scrubbed["stored_responses"] = await _ids_of(
            session,
            delete(IdempotencyKey)
            .where(IdempotencyKey.workspace_id == ws, or_(*stored))
            .returning(IdempotencyKey.key),
        )
    return scrubbed
