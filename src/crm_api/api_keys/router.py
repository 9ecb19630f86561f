import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyListParams, ApiKeyRead

router = crm_router("/v1/api-keys", "API keys")
Admin = Annotated[Principal, Depends(require(Scope.admin))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    description="The response holds the secret, shown this once. Requires `admin`.",
    responses=problem_responses(400, 413, 415),
)
async def create_api_key(
    data: ApiKeyCreate, session: SessionDep, principal: Admin, response: Response
) -> ApiKeyCreated:
    created = await service.create_api_key(session, principal, data)
    response.headers["Location"] = f"/v1/api-keys/{created.id}"
    return created


@router.get("", summary="List API keys", openapi_extra=documented_params(ApiKeyListParams))
async def list_api_keys(
    params: Annotated[ApiKeyListParams, Depends(list_params(ApiKeyListParams))],
    session: SessionDep,
    principal: Admin,
) -> Page[ApiKeyRead]:
    rows, next_cursor = await service.list_api_keys(session, principal, params)
    return Page(data=[ApiKeyRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{api_key_id:uuid}", summary="Get an API key", responses=problem_responses(404))
async def get_api_key(api_key_id: uuid.UUID, session: SessionDep, principal: Admin) -> ApiKeyRead:
    return ApiKeyRead.model_validate(await service.get_api_key(session, principal, api_key_id))


@router.delete(
    "/{api_key_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    description="The key stops working at once on this server, everywhere within seconds.",
    responses=problem_responses(404),
)
async def revoke_api_key(api_key_id: uuid.UUID, session: SessionDep, principal: Admin) -> None:
    await service.revoke_api_key(session, principal, api_key_id)
