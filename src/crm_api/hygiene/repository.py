"""A merge's statements: the records that move from the merged-away contact to the one kept."""

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.models import (
    ContactConsent,
    ContactRfm,
    Interaction,
    LifecycleChange,
    Order,
    PortalUser,
    SurveyResponse,
    Task,
    Ticket,
)
from crm_api.models.base import utcnow

# What a contact's records name it by, in the order a merge moves them.
OWNED: dict[str, tuple[Any, Any]] = {
    "interactions": (Interaction, Interaction.contact_id),
    "tasks": (Task, Task.contact_id),
    "tickets": (Ticket, Ticket.requester_id),
    "orders": (Order, Order.contact_id),
    "survey_responses": (SurveyResponse, SurveyResponse.contact_id),
    "consents": (ContactConsent, ContactConsent.contact_id),
    "lifecycle_changes": (LifecycleChange, LifecycleChange.contact_id),
}
PORTAL_ACCOUNT = (PortalUser, PortalUser.contact_id)


async def move(
    session: AsyncSession,
    ws: uuid.UUID,
    owner: tuple[Any, Any],
    source_id: uuid.UUID,
    target_id: uuid.UUID,
) -> int:
    """Rows of ``owner`` (a model and the column naming their contact) that named the source
    name the target; how many. A versioned row gets a new version, its ETag changing with what
    its read shows."""
    model, column = owner
    values: dict[str, Any] = {column.key: target_id}
    if hasattr(model, "version"):
        values.update(version=model.version + 1)
    if hasattr(model, "updated_at"):
        values.update(updated_at=utcnow())
    result = await session.execute(
        update(model)
        .where(model.workspace_id == ws, column == source_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def has_portal_account(session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(PortalUser.id).where(
            PortalUser.workspace_id == ws, PortalUser.contact_id == contact_id
        )
    )
    return found is not None


async def forget_rfm(session: AsyncSession, ws: uuid.UUID, contact_id: uuid.UUID) -> None:
    """A contact's RFM scores, recomputed for the one kept at the next run."""
    await session.execute(
        delete(ContactRfm).where(ContactRfm.workspace_id == ws, ContactRfm.contact_id == contact_id)
    )
