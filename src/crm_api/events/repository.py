import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Text, cast, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.filters import in_range
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Event

from .schemas import EventListParams

SORTABLE = {"occurred_at": Event.occurred_at}


def _bigint(xid8: Any) -> ColumnElement[int]:
    return cast(cast(xid8, Text), BigInteger)


# Events a reader may be served: those of transactions that ended before the oldest one still
# running began (none of which can add an event now), and the reader's own. Anything else could
# still be joined by events of an older transaction, which a cursor already past would skip.
SETTLED = or_(
    Event.tx_id < _bigint(func.pg_snapshot_xmin(func.pg_current_snapshot())),
    Event.tx_id == _bigint(func.pg_current_xact_id_if_assigned()),
)


async def get_event(
    session: AsyncSession, workspace_id: uuid.UUID, event_id: uuid.UUID
) -> Event | None:
    return await session.scalar(
        select(Event).where(Event.workspace_id == workspace_id, Event.id == event_id)
    )


def _selected(workspace_id: uuid.UUID, params: EventListParams) -> Select[Any]:
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
    return statement


async def list_events(
    session: AsyncSession, workspace_id: uuid.UUID, params: EventListParams, sort: Sort
) -> Sequence[Event]:
    """Newest first, for browsing: by `occurred_at`, everything visible now."""
    statement = _selected(workspace_id, params)
    return (await session.scalars(paginate(statement, Event.id, sort, params))).all()


async def follow_events(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    params: EventListParams,
    after: tuple[int, int] | None,
) -> Sequence[Event]:
    """Oldest first, for catching up: settled events past ``after`` (tx_id, position), in
    position order, one more than a page."""
    statement = _selected(workspace_id, params).where(SETTLED)
    if after is not None:
        statement = statement.where(tuple_(Event.tx_id, Event.position) > tuple_(*after))
    statement = statement.order_by(Event.tx_id, Event.position).limit(params.limit + 1)
    return (await session.scalars(statement)).all()
