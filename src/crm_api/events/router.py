import uuid
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import NotFound, problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page, page_of, parse_sort
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import repository
from .schemas import EventListParams, EventRead

router = crm_router("/v1/events", "Events")
Reader = Annotated[Principal, Depends(require(Scope.events_read))]


@router.get(
    "",
    summary="List events",
    description="Every change that matters, oldest first: poll from your last `next_cursor` "
    "to catch up.",
    openapi_extra=documented_params(EventListParams),
)
async def list_events(
    params: Annotated[EventListParams, Depends(list_params(EventListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[EventRead]:
    data, next_cursor = await _events_page(session, principal, params)
    return Page(data=data, next_cursor=next_cursor)


@router.get("/{event_id:uuid}", summary="Get an event", responses=problem_responses(404))
async def get_event(event_id: uuid.UUID, session: SessionDep, principal: Reader) -> EventRead:
    event = await repository.get_event(session, principal.workspace_id, event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.")
    return EventRead.model_validate(event)


async def _events_page(
    session: AsyncSession, principal: Principal, params: EventListParams
) -> tuple[list[EventRead], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_events(session, principal.workspace_id, params, sort)
    page, next_cursor = page_of(rows, sort, params)
    return [EventRead.model_validate(row) for row in page], next_cursor


add_export_route(
    router,
    plural="events",
    list_model=EventListParams,
    fetch=_events_page,
    read=EventRead,
    reader=Reader,
)
