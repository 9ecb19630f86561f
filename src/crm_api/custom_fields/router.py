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
from .schemas import CustomFieldCreate, CustomFieldListParams, CustomFieldRead, CustomFieldUpdate

router = crm_router("/v1/custom-fields", "Custom fields")
Reader = Annotated[Principal, Depends(require(Scope.custom_fields_read))]
Writer = Annotated[Principal, Depends(require(Scope.custom_fields_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Define a custom field",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_custom_field(
    data: CustomFieldCreate, session: SessionDep, principal: Writer, response: Response
) -> CustomFieldRead:
    definition = await service.create_field(session, principal, data)
    response.headers["Location"] = f"/v1/custom-fields/{definition.id}"
    return CustomFieldRead.model_validate(definition)


@router.get(
    "",
    summary="List custom field definitions",
    openapi_extra=documented_params(CustomFieldListParams),
)
async def list_custom_fields(
    params: Annotated[CustomFieldListParams, Depends(list_params(CustomFieldListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[CustomFieldRead]:
    rows, next_cursor = await service.list_fields(session, principal, params)
    return Page(data=[CustomFieldRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{custom_field_id:uuid}",
    summary="Get a custom field definition",
    responses=problem_responses(404),
)
async def get_custom_field(
    custom_field_id: uuid.UUID, session: SessionDep, principal: Reader
) -> CustomFieldRead:
    definition = await service.get_field(session, principal, custom_field_id)
    return CustomFieldRead.model_validate(definition)


@router.patch(
    "/{custom_field_id:uuid}",
    summary="Update a custom field definition",
    responses=problem_responses(400, 404, 412, 413, 415, 428),
)
async def update_custom_field(
    custom_field_id: uuid.UUID,
    data: CustomFieldUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> CustomFieldRead:
    definition = await service.update_field(session, principal, custom_field_id, data, if_match)
    return CustomFieldRead.model_validate(definition)


@router.delete(
    "/{custom_field_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a custom field definition",
    description="Its values are removed from every record in the same transaction.",
    responses=problem_responses(404, 412, 428),
)
async def delete_custom_field(
    custom_field_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_field(session, principal, custom_field_id, if_match)
