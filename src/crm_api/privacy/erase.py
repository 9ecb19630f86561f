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

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.events import record_event
from crm_api.core.records import touch
from crm_api.core.schemas import ReadSchema
from crm_api.models import Contact
from crm_api.models.base import utcnow

from . import repository
from .erased import email_hash
from .repository import ERASED


class ErasureRead(ReadSchema):
    contact_id: uuid.UUID
    erased_at: datetime
    records: dict[str, int]


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
    changed = 0
    for deal in await repository.linked_deals(session, ws, contact_id):
        name, reason = _unquoted(deal.name, values), _unquoted(deal.lost_reason, values)
        if (name, reason) != (deal.name, deal.lost_reason):
            deal.name, deal.lost_reason = name or ERASED, reason
            touch(deal)
            changed += 1
    return changed


def _anonymise(contact: Contact, now: datetime) -> None:
    """The contact row stays (its orders, deals and history keep their customer), archived and
    with nothing left that names or reaches the person."""
    contact.first_name, contact.last_name = "Erased", "contact"
    contact.email, contact.additional_emails, contact.phones = None, [], []
    contact.job_title, contact.address, contact.custom_fields, contact.tags = None, None, {}, []
    contact.archived_at = contact.archived_at or now
    contact.updated_at = now
    contact.version += 1


async def erase_contact(
    session: AsyncSession, principal: Principal, contact: Contact
) -> ErasureRead:
    ws, contact_id = principal.workspace_id, contact.id
    now = utcnow()
    values = _personal_values(contact)
    if contact.email:
        await repository.remember_erased_email(session, ws, email_hash(contact.email), now)
    scrubbed = await repository.scrub_records_of(session, ws, contact_id)
    # The documents about these records are scrubbed below, with those quoting the person.
    records = [contact_id, *(record for ids in scrubbed.values() for record in ids)]
    addresses = [value for value in (contact.email, *contact.additional_emails) if value]
    scrubbed["emails"] = await repository.delete_mail_to(session, ws, addresses)
    scrubbed["merges"] = await repository.forget_merged_duplicates(session, ws, contact_id)
    counts = {name: len(ids) for name, ids in scrubbed.items()}
    counts["deals"] = await _unquote_deals(session, ws, contact_id, values)
    _anonymise(contact, now)
    await session.flush()
    documents = await repository.scrub_documents(session, ws, records, values)
    counts |= {name: len(ids) for name, ids in documents.items()}
    answer = ErasureRead(contact_id=contact_id, erased_at=now, records=counts)
    record_event(session, principal, "contact.erased", contact_id, answer)
    return answer
