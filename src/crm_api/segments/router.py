import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.contacts.schemas import ContactRead, contacts_of
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import (
    SegmentCount,
    SegmentCreate,
    SegmentListParams,
    SegmentMembersParams,
    SegmentRead,
    SegmentUpdate,
)

router = crm_router("/v1/segments", "Segments")
Reader = Annotated[Principal, Depends(require(Scope.contacts_read))]
Writer = Annotated[Principal, Depends(require(Scope.contacts_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Save a contact segment",
    description="The filters are checked as the contacts list would check them (422 naming any"
    " bad one); membership is evaluated whenever it is asked for.",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_segment(
    data: SegmentCreate, session: SessionDep, principal: Writer, response: Response
) -> SegmentRead:
    segment = await service.create_segment(session, principal, data)
    response.headers["Location"] = f"/v1/segments/{segment.id}"
    return SegmentRead.model_validate(segment)


@router.get("", summary="List segments", openapi_extra=documented_params(SegmentListParams))
async def list_segments(
    principal: Reader,
    params: Annotated[SegmentListParams, Depends(list_params(SegmentListParams))],
    session: SessionDep,
) -> Page[SegmentRead]:
    rows, next_cursor = await service.list_segments(session, principal, params)
    return Page(data=[SegmentRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{segment_id:uuid}", summary="Get a segment", responses=problem_responses(404))
async def get_segment(segment_id: uuid.UUID, session: SessionDep, principal: Reader) -> SegmentRead:
    return SegmentRead.model_validate(await service.get_segment(session, principal, segment_id))


@router.patch(
    "/{segment_id:uuid}",
    summary="Update a segment",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_segment(
    segment_id: uuid.UUID,
    data: SegmentUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> SegmentRead:
    segment = await service.update_segment(session, principal, segment_id, data, if_match)
    return SegmentRead.model_validate(segment)


@router.delete(
    "/{segment_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a segment (its contacts stay)",
    responses=problem_responses(404, 412, 428),
)
async def delete_segment(
    segment_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_segment(session, principal, segment_id, if_match)


@router.get(
    "/{segment_id:uuid}/contacts",
    summary="The segment's contacts, now",
    responses=problem_responses(404),
    openapi_extra=documented_params(SegmentMembersParams),
)
async def list_segment_contacts(
    segment_id: uuid.UUID,
    principal: Reader,
    params: Annotated[SegmentMembersParams, Depends(list_params(SegmentMembersParams))],
    session: SessionDep,
) -> Page[ContactRead]:
    rows, next_cursor = await service.members(session, principal, segment_id, params)
    return Page(data=contacts_of(rows), next_cursor=next_cursor)


@router.get(
    "/{segment_id:uuid}/count",
    summary="How many contacts the segment has now",
    responses=problem_responses(404),
)
async def count_segment_contacts(
    segment_id: uuid.UUID, principal: Reader, session: SessionDep
) -> SegmentCount:
    return SegmentCount(count=await service.member_count(session, principal, segment_id))
