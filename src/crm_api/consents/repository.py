"""Consent records' queries: the latest record per purpose is what is in force."""

import uuid

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.models import ContactConsent


async def latest(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> dict[str, ContactConsent]:
    rows = await session.scalars(
        select(ContactConsent)
        .where(ContactConsent.workspace_id == workspace_id, ContactConsent.contact_id == contact_id)
        .order_by(
            ContactConsent.purpose, ContactConsent.recorded_at.desc(), ContactConsent.id.desc()
        )
        .ext(distinct_on(ContactConsent.purpose))
    )
    return {row.purpose: row for row in rows}


async def history(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> list[ContactConsent]:
    rows = await session.scalars(
        select(ContactConsent)
        .where(ContactConsent.workspace_id == workspace_id, ContactConsent.contact_id == contact_id)
        .order_by(ContactConsent.recorded_at, ContactConsent.id)
    )
    return list(rows)


def consenting(workspace_id: uuid.UUID, purpose: str) -> Select[tuple[uuid.UUID]]:
    """Ids of the contacts whose latest record for `purpose` is a grant."""
    newest = (
        select(ContactConsent.contact_id, ContactConsent.granted)
        .where(ContactConsent.workspace_id == workspace_id, ContactConsent.purpose == purpose)
        .order_by(
            ContactConsent.contact_id, ContactConsent.recorded_at.desc(), ContactConsent.id.desc()
        )
        .ext(distinct_on(ContactConsent.contact_id))
        .subquery()
    )
    return select(newest.c.contact_id).where(newest.c.granted)
