import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import (
    PipelineCreate,
    PipelineListParams,
    PipelineRead,
    PipelineUpdate,
    StageCreate,
    StageOrder,
    StageUpdate,
)

router = crm_router("/v1/pipelines", "Pipelines")
Reader = Annotated[Principal, Depends(require(Scope.deals_read))]
Writer = Annotated[Principal, Depends(require(Scope.pipelines_write))]
_CHANGE_ERRORS = problem_responses(400, 404, 409, 412, 413, 415, 428)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a pipeline with its stages",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_pipeline(
    data: PipelineCreate, session: SessionDep, principal: Writer, response: Response
) -> PipelineRead:
    pipeline = await service.create_pipeline(session, principal, data)
    response.headers["Location"] = f"/v1/pipelines/{pipeline.id}"
    return pipeline


@router.get("", summary="List pipelines", openapi_extra=documented_params(PipelineListParams))
async def list_pipelines(
    params: Annotated[PipelineListParams, Depends(list_params(PipelineListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[PipelineRead]:
    pipelines, next_cursor = await service.list_pipelines(session, principal, params)
    return Page(data=pipelines, next_cursor=next_cursor)


@router.get("/{pipeline_id:uuid}", summary="Get a pipeline", responses=problem_responses(404))
async def get_pipeline(
    pipeline_id: uuid.UUID, session: SessionDep, principal: Reader
) -> PipelineRead:
    return await service.get_pipeline(session, principal, pipeline_id)


@router.patch("/{pipeline_id:uuid}", summary="Rename a pipeline", responses=_CHANGE_ERRORS)
async def update_pipeline(
    pipeline_id: uuid.UUID,
    data: PipelineUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> PipelineRead:
    pipeline = await service.update_pipeline(session, principal, pipeline_id, data, if_match)
    return pipeline


@router.delete(
    "/{pipeline_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a pipeline",
    description="Refused with 409 while it holds deals.",
    responses=problem_responses(404, 409, 412, 428),
)
async def delete_pipeline(
    pipeline_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_pipeline(session, principal, pipeline_id, if_match)


@router.post(
    "/{pipeline_id:uuid}/stages",
    summary="Add a stage",
    description="Answers the whole pipeline. If-Match is the pipeline's ETag.",
    responses=_CHANGE_ERRORS,
)
async def add_stage(
    pipeline_id: uuid.UUID,
    data: StageCreate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> PipelineRead:
    pipeline = await service.add_stage(session, principal, pipeline_id, data, if_match)
    return pipeline


@router.post(
    "/{pipeline_id:uuid}/stages/reorder",
    summary="Reorder the stages",
    description="Send every stage id in the new order. Answers the whole pipeline.",
    responses=_CHANGE_ERRORS,
)
async def reorder_stages(
    pipeline_id: uuid.UUID,
    data: StageOrder,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> PipelineRead:
    pipeline = await service.reorder_stages(session, principal, pipeline_id, data, if_match)
    return pipeline


@router.patch(
    "/{pipeline_id:uuid}/stages/{stage_id:uuid}",
    summary="Rename a stage or change its probability or kind",
    description="Answers the whole pipeline. If-Match is the pipeline's ETag.",
    responses=_CHANGE_ERRORS,
)
async def update_stage(
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    data: StageUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> PipelineRead:
    pipeline = await service.update_stage(session, principal, pipeline_id, stage_id, data, if_match)
    return pipeline


@router.delete(
    "/{pipeline_id:uuid}/stages/{stage_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a stage",
    description="A stage holding deals is refused (409) unless `move_deals_to` names another "
    "stage of the pipeline; its deals move there first, each with its stage history and events. "
    "If-Match is the pipeline's ETag.",
    responses=_CHANGE_ERRORS,
)
async def delete_stage(
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
    move_deals_to: Annotated[uuid.UUID | None, Query()] = None,
) -> None:
    await service.delete_stage(session, principal, pipeline_id, stage_id, move_deals_to, if_match)
