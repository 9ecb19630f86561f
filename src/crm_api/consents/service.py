"""Consent records: each grant or withdrawal per contact and purpose, with time, source and
proof; the latest record per purpose is what is in force. Nothing is ever updated or deleted,
so the history is the evidence."""

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.ids import new_id
from crm_api.models import Contact, ContactConsent
from crm_api.models.base import utcnow

from . import repository
from .repository import consenting

Purpose = Literal["marketing_email", "marketing_sms", "marketing_phone", "profiling"]


async def latest(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, ContactConsent]:
    """The record in force for each purpose the contact has one for."""
    return await repository.latest(session, workspace_id, contact_id)


async def history(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> list[ContactConsent]:
    """Every record of the contact's, oldest first: the evidence."""
    return await repository.history(session, workspace_id, contact_id)


async def record(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    purpose: str,
    *,
    granted: bool,
    source: str,
    proof: str | None,
    at: datetime | None = None,
) -> ContactConsent:
    """Appends a record, holding the contact's row lock so changes to one contact queue up."""
    await session.get(Contact, (principal.workspace_id, contact_id), with_for_update=True)
    consent = ContactConsent(
        workspace_id=principal.workspace_id,
        id=new_id(),
        contact_id=contact_id,
        purpose=purpose,
        granted=granted,
        source=source,
        proof=proof,
        actor_type=principal.actor_type,
        actor_id=principal.actor_id,
        recorded_at=at or utcnow(),
    )
    session.add(consent)
    await session.flush()
    return consent


def consented_to(workspace_id: uuid.UUID, purposes: list[str]) -> list[ColumnElement[bool]]:
    """Conditions on contacts: consenting, now, to each of ``purposes``."""
    return [Contact.id.in_(consenting(workspace_id, purpose)) for purpose in purposes]
