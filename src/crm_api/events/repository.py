import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.filters import in_range
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Event

from .schemas import EventListParams

SORTABLE = {"occurred_at": Event.occurred_at}


async def get_event(
    session: AsyncSession, workspace_id: uuid.UUID, event_id: uuid.UUID
) -> Event | None:
    return await session.scalar(
        select(Event).where(Event.workspace_id == workspace_id, Event.id == event_id)
    )


async def list_events(
    session: AsyncSession, workspace_id: uuid.UUID, params: EventListParams, sort: Sort
) -> Sequence[Event]:
    statement = select(Event).where(
        Event.workspace_id == workspace_id,
        *in_range(Event.occurred_at, params.occurred_at_gte, params.occurred_at_lte),
    )
    if params.type:
        statement = statement.where(Event.type.in_(params.type))
    if params.resource_type is not None:
        statement = statement.where(Event.resource_type == params.resource_type)
    if params.resource_id is not None:
        statement = statement.where(Event.resource_id == params.resource_id)
    return (await session.scalars(paginate(statement, Event.id, sort, params))).all()
