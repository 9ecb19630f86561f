import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies.service import get_company
from crm_api.contacts.service import get_contact
from crm_api.core.auth import Principal
from crm_api.core.pagination import Sort, decode_cursor, page_of
from crm_api.models import Interaction

from . import repository
from .schemas import TimelineEntry, TimelineParams

_NEWEST_FIRST = Sort(field="occurred_at", column=Interaction.occurred_at, descending=True)


async def _entries(
    session: AsyncSession,
    principal: Principal,
    params: TimelineParams,
    *,
    contact_id: uuid.UUID | None = None,
    company_id: uuid.UUID | None = None,
) -> tuple[list[TimelineEntry], str | None]:
    after = decode_cursor(params.cursor, _NEWEST_FIRST) if params.cursor else None
    rows = await repository.timeline(
        session,
        principal.workspace_id,
        contact_id=contact_id,
        company_id=company_id,
        kinds=params.kind,
        after=after,
        since=params.occurred_at_gte,
        until=params.occurred_at_lte,
        limit=params.limit + 1,
    )
    page, next_cursor = page_of(rows, _NEWEST_FIRST, params)
    return [TimelineEntry.model_validate(row) for row in page], next_cursor


async def contact_timeline(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, params: TimelineParams
) -> tuple[list[TimelineEntry], str | None]:
    await get_contact(session, principal, contact_id)
    return await _entries(session, principal, params, contact_id=contact_id)


async def company_timeline(
    session: AsyncSession, principal: Principal, company_id: uuid.UUID, params: TimelineParams
) -> tuple[list[TimelineEntry], str | None]:
    await get_company(session, principal, company_id)
    return await _entries(session, principal, params, company_id=company_id)
