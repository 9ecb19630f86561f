import binascii
import uuid
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import NotFound, invalid_field, problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import pack_cursor, page_of, parse_sort, unpack_cursor
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import repository
from .schemas import EventListParams, EventPage, EventRead

router = crm_router("/v1/events", "Events")
Reader = Annotated[Principal, Depends(require(Scope.events_read))]


@router.get(
    "",
    summary="List events",
    description="Every change that matters, oldest first: poll from your last `next_cursor` "
    "to catch up. Each event is served once, in position order, when no event can still "
    "appear before it; the last page, too, carries the cursor to resume from (`has_more` says "
    "whether more were ready).",
    openapi_extra=documented_params(EventListParams),
)
async def list_events(
    params: Annotated[EventListParams, Depends(list_params(EventListParams))],
    session: SessionDep,
    principal: Reader,
) -> EventPage:
    data, next_cursor, has_more = await _page(session, principal, params)
    return EventPage(data=data, next_cursor=next_cursor, has_more=has_more)


@router.get("/{event_id:uuid}", summary="Get an event", responses=problem_responses(404))
async def get_event(event_id: uuid.UUID, session: SessionDep, principal: Reader) -> EventRead:
    event = await repository.get_event(session, principal.workspace_id, event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    return EventRead.model_validate(event)


_FOLLOW = "position"


def _position_cursor(tx_id: int, position: int) -> str:
    return pack_cursor(_FOLLOW, tx_id, position)


def _position_of(cursor: str) -> tuple[int, int]:
    try:
        kind, tx_id, position = unpack_cursor(cursor)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise invalid_field(["query", "cursor"], "the cursor is not valid") from exc
    if kind != _FOLLOW or type(tx_id) is not int or type(position) is not int:
        raise invalid_field(["query", "cursor"], "the cursor belongs to another sort order")
    return tx_id, position


async def _page(
    session: AsyncSession, principal: Principal, params: EventListParams
) -> tuple[list[EventRead], str | None, bool]:
    """A page, the cursor to go on from, and whether more were ready."""
    sort = parse_sort(params.sort, repository.SORTABLE)
    if sort.descending:
        rows = await repository.list_events(session, principal.workspace_id, params, sort)
        page, next_cursor = page_of(rows, sort, params)
        return [EventRead.model_validate(row) for row in page], next_cursor, next_cursor is not None
    after = _position_of(params.cursor) if params.cursor else None
    rows = await repository.follow_events(session, principal.workspace_id, params, after)
    page = list(rows[: params.limit])
    resume = _position_cursor(page[-1].tx_id, page[-1].position) if page else params.cursor
    return [EventRead.model_validate(row) for row in page], resume, len(rows) > params.limit


async def _events_page(
    session: AsyncSession, principal: Principal, params: EventListParams
) -> tuple[list[EventRead], str | None]:
    """For the export, which reads until there is no next page."""
    data, next_cursor, has_more = await _page(session, principal, params)
    return data, next_cursor if has_more else None


add_export_route(
    router,
    plural="events",
    list_model=EventListParams,
    fetch=_events_page,
    read=EventRead,
    reader=Reader,
)
