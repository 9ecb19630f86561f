"""Erasure (right to be forgotten): a person's personal data removed or irreversibly
anonymised everywhere it is held, in one transaction, keeping what the KPIs count.

Kept: the contact row itself (anonymised and archived, so orders, deals and lifecycle history
still have their customer), order totals and statuses, ticket times and priorities, survey
scores, interaction kinds, times and sentiment scores, consent purposes and times. Removed:
names, emails, phones, addresses, job title, custom fields and tags; interaction subjects,
bodies and outcomes; ticket subjects, descriptions and every message; order and task texts;
survey comments; consent proof texts; the portal account and its emails; the duplicates merged
into the person (their snapshot in the merge record); the person's name, emails and phones
wherever the names and lost reasons of the deals they are linked to quote them; and the values
held in events, the audit log and stored Idempotency-Key responses about any of those records.
The email's SHA-256 is kept so that the person is not re-imported by accident.
"""

import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, Uuid, any_, bindparam, cast, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.events import record_event
from crm_api.core.records import touch
from crm_api.core.schemas import ReadSchema
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
from crm_api.models.base import utcnow

from .erased import email_hash

ERASED = "[erased]"


class ErasureRead(ReadSchema):
    contact_id: uuid.UUID
    erased_at: datetime
    records: dict[str, int]


def _ids(ids: list[uuid.UUID]) -> Any:
    """One array parameter, however many ids (an IN list has a parameter each)."""
    return bindparam("ids", ids, type_=ARRAY(Uuid()), unique=True)


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _personal_values(contact: Contact) -> list[str]:
    """The person's own strings, to hunt down copies of them in stored documents."""
    values = [contact.email, *contact.additional_emails, contact.job_title]
    values += [phone.get("number") for phone in contact.phones]
    full_name = f"{contact.first_name} {contact.last_name}".strip()
    values += [contact.first_name, contact.last_name, full_name]
    if contact.address:
        values += [str(value) for value in contact.address.values() if value]
    return sorted({value for value in values if isinstance(value, str) and len(value) >= 3})


def _unquoted(text: str | None, values: list[str]) -> str | None:
    if text is None:
        return None
    for value in sorted(values, key=len, reverse=True):  # a full name before its parts
        text = re.sub(re.escape(value), ERASED, text, flags=re.IGNORECASE)
    return text


async def _unquote_deals(
    session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID, values: list[str]
) -> int:
    """Deals the person is linked to keep their figures, not the person's name in their texts
    ("Renewal for Jane Doe" becomes "Renewal for [erased]")."""
    linked = select(DealContact.deal_id).where(
        DealContact.workspace_id == ws, DealContact.contact_id == contact_id
    )
    deals = (
        await session.scalars(
            select(Deal).where(Deal.workspace_id == ws, Deal.id.in_(linked)).with_for_update()
        )
    ).all()
    changed = 0
    for deal in deals:
        name, reason = _unquoted(deal.name, values), _unquoted(deal.lost_reason, values)
        if (name, reason) != (deal.name, deal.lost_reason):
            deal.name, deal.lost_reason = name or ERASED, reason
            touch(deal)
            changed += 1
    return changed


async def erase_contact(
    session: AsyncSession, principal: Principal, contact: Contact
) -> ErasureRead:
    ws, contact_id = principal.workspace_id, contact.id
    now = utcnow()
    values = _personal_values(contact)
    counts: dict[str, int] = {}

    async def run(name: str, statement: Any) -> list[uuid.UUID]:
        ids = list((await session.scalars(statement)).all())
        counts[name] = len(ids)
        return ids

    if contact.email:
        await session.execute(
            insert(ErasedEmail)
            .values(workspace_id=ws, email_hash=email_hash(contact.email), erased_at=now)
            .on_conflict_do_nothing()
        )
    tickets = await run(
        "tickets",
        update(Ticket)
        .where(Ticket.workspace_id == ws, Ticket.requester_id == contact_id)
        .values(subject=ERASED, description=None, custom_fields={}, tags=[])
        .returning(Ticket.id),
    )
    messages = await run(
        "ticket_messages",
        update(TicketMessage)
        .where(TicketMessage.workspace_id == ws, TicketMessage.ticket_id == any_(_ids(tickets)))
        .values(body=ERASED)
        .returning(TicketMessage.id),
    )
    interactions = await run(
        "interactions",
        update(Interaction)
        .where(Interaction.workspace_id == ws, Interaction.contact_id == contact_id)
        .values(subject=None, body=None, outcome=None)
        .returning(Interaction.id),
    )
    tasks = await run(
        "tasks",
        update(Task)
        .where(Task.workspace_id == ws, Task.contact_id == contact_id)
        .values(title=ERASED, description=None)
        .returning(Task.id),
    )
    orders = await run(
        "orders",
        update(Order)
        .where(Order.workspace_id == ws, Order.contact_id == contact_id)
        .values(note=None)
        .returning(Order.id),
    )
    answers = await run(
        "survey_responses",
        update(SurveyResponse)
        .where(SurveyResponse.workspace_id == ws, SurveyResponse.contact_id == contact_id)
        .values(comment=None)
        .returning(SurveyResponse.id),
    )
    consents = await run(
        "consents",
        update(ContactConsent)
        .where(ContactConsent.workspace_id == ws, ContactConsent.contact_id == contact_id)
        .values(proof=None)
        .returning(ContactConsent.id),
    )
    accounts = await run(
        "portal_accounts",
        delete(PortalUser)
        .where(PortalUser.workspace_id == ws, PortalUser.contact_id == contact_id)
        .returning(PortalUser.id),
    )
    addresses = [value for value in (contact.email, *contact.additional_emails) if value]
    await run(
        "emails",
        delete(EmailMessage)
        .where(
            EmailMessage.workspace_id == ws,
            func.lower(EmailMessage.to_address).in_([a.lower() for a in addresses]),
        )
        .returning(EmailMessage.id),
    )
    await run(
        "merges",
        update(ContactMerge)
        .where(ContactMerge.workspace_id == ws, ContactMerge.target_id == contact_id)
        .values(source={"erased": True})
        .returning(ContactMerge.id),
    )
    counts["deals"] = await _unquote_deals(session, ws, contact_id, values)
    contact.first_name, contact.last_name = "Erased", "contact"
    contact.email, contact.additional_emails, contact.phones = None, [], []
    contact.job_title, contact.address, contact.custom_fields, contact.tags = None, None, {}, []
    contact.archived_at = contact.archived_at or now
    contact.updated_at = now
    contact.version += 1
    await session.flush()

    # Stored documents about these records, or quoting the person anywhere.
    records = [contact_id, *tickets, *messages, *interactions, *tasks, *orders, *answers]
    records += [*consents, *accounts]
    quoting = [cast(Event.data, String).icontains(value, autoescape=True) for value in values]
    quoting += [cast(Event.previous, String).icontains(value, autoescape=True) for value in values]
    await run(
        "events",
        update(Event)
        .where(Event.workspace_id == ws, or_(Event.resource_id == any_(_ids(records)), *quoting))
        .values(data={"erased": True}, previous=None)
        .returning(Event.id),
    )
    audit_quoting = [
        cast(AuditEntry.changes, String).icontains(value, autoescape=True) for value in values
    ]
    await run(
        "audit_entries",
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
        await run(
            "stored_responses",
            delete(IdempotencyKey)
            .where(IdempotencyKey.workspace_id == ws, or_(*stored))
            .returning(IdempotencyKey.key),
        )
    answer = ErasureRead(contact_id=contact_id, erased_at=now, records=counts)
    record_event(session, principal, "contact.erased", contact_id, answer)
    return answer
