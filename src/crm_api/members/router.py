import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import MemberCreate, MemberListParams, MemberRead, MemberUpdate

router = crm_router("/v1/members", "Members")
Reader = Annotated[Principal, Depends(require(Scope.members_read))]
Writer = Annotated[Principal, Depends(require(Scope.members_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a member",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_member(
    data: MemberCreate, session: SessionDep, principal: Writer, response: Response
) -> MemberRead:
    member = await service.create_member(session, principal, data)
    response.headers["Location"] = f"/v1/members/{member.id}"
    return MemberRead.model_validate(member)


@router.get("", summary="List members", openapi_extra=documented_params(MemberListParams))
async def list_members(
    params: Annotated[MemberListParams, Depends(list_params(MemberListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[MemberRead]:
    rows, next_cursor = await service.list_members(session, principal, params)
    return Page(data=[MemberRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{member_id:uuid}", summary="Get a member", responses=problem_responses(404))
async def get_member(member_id: uuid.UUID, session: SessionDep, principal: Reader) -> MemberRead:
    member = await service.get_member(session, principal, member_id)
    return MemberRead.model_validate(member)


@router.patch(
    "/{member_id:uuid}",
    summary="Update a member",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_member(
    member_id: uuid.UUID,
    data: MemberUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> MemberRead:
    member = await service.update_member(session, principal, member_id, data, if_match)
    return MemberRead.model_validate(member)


@router.delete(
    "/{member_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member",
    description="Refused with 409 while the member still owns records: reassign them first.",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_member(
    member_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_member(session, principal, member_id, if_match)
