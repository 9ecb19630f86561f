import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route, read_as
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import InteractionCreate, InteractionListParams, InteractionRead, InteractionUpdate

router = crm_router("/v1/interactions", "Interactions")
Reader = Annotated[Principal, Depends(require(Scope.interactions_read))]
Writer = Annotated[Principal, Depends(require(Scope.interactions_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record an interaction",
    description="Inbound text is given a sentiment score from -1 to 1.",
    responses=problem_responses(400, 413, 415),
)
async def create_interaction(
    data: InteractionCreate, session: SessionDep, principal: Writer, response: Response
) -> InteractionRead:
    interaction = await service.create_interaction(session, principal, data)
    response.headers["Location"] = f"/v1/interactions/{interaction.id}"
    return InteractionRead.model_validate(interaction)


@router.get("", summary="List interactions", openapi_extra=documented_params(InteractionListParams))
async def list_interactions(
    params: Annotated[InteractionListParams, Depends(list_params(InteractionListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[InteractionRead]:
    rows, next_cursor = await service.list_interactions(session, principal, params)
    return Page(data=[InteractionRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{interaction_id:uuid}", summary="Get an interaction", responses=problem_responses(404)
)
async def get_interaction(
    interaction_id: uuid.UUID, session: SessionDep, principal: Reader
) -> InteractionRead:
    return InteractionRead.model_validate(
        await service.get_interaction(session, principal, interaction_id)
    )


@router.patch(
    "/{interaction_id:uuid}",
    summary="Update an interaction",
    responses=problem_responses(400, 404, 412, 413, 415, 428),
)
async def update_interaction(
    interaction_id: uuid.UUID,
    data: InteractionUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> InteractionRead:
    interaction = await service.update_interaction(
        session, principal, interaction_id, data, if_match
    )
    return InteractionRead.model_validate(interaction)


@router.delete(
    "/{interaction_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an interaction",
    responses=problem_responses(404, 412, 428),
)
async def delete_interaction(
    interaction_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_interaction(session, principal, interaction_id, if_match)


add_export_route(
    router,
    plural="interactions",
    list_model=InteractionListParams,
    fetch=read_as(service.list_interactions, InteractionRead),
    read=InteractionRead,
    reader=Reader,
)
