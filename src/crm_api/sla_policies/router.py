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
from .schemas import SlaPolicyCreate, SlaPolicyListParams, SlaPolicyRead, SlaPolicyUpdate

router = crm_router("/v1/sla-policies", "SLA policies")
Reader = Annotated[Principal, Depends(require(Scope.tickets_read))]
Writer = Annotated[Principal, Depends(require(Scope.sla_policies_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an SLA policy",
    description="With `is_default`, it replaces the workspace's current default policy.",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_sla_policy(
    data: SlaPolicyCreate, session: SessionDep, principal: Writer, response: Response
) -> SlaPolicyRead:
    policy = await service.create_policy(session, principal, data)
    response.headers["Location"] = f"/v1/sla-policies/{policy.id}"
    return SlaPolicyRead.model_validate(policy)


@router.get("", summary="List SLA policies", openapi_extra=documented_params(SlaPolicyListParams))
async def list_sla_policies(
    params: Annotated[SlaPolicyListParams, Depends(list_params(SlaPolicyListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[SlaPolicyRead]:
    rows, next_cursor = await service.list_policies(session, principal, params)
    return Page(data=[SlaPolicyRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{sla_policy_id:uuid}", summary="Get an SLA policy", responses=problem_responses(404))
async def get_sla_policy(
    sla_policy_id: uuid.UUID, session: SessionDep, principal: Reader
) -> SlaPolicyRead:
    return SlaPolicyRead.model_validate(await service.get_policy(session, principal, sla_policy_id))


@router.patch(
    "/{sla_policy_id:uuid}",
    summary="Update an SLA policy",
    description="New targets or hours apply at once to the policy's tickets that are not closed.",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_sla_policy(
    sla_policy_id: uuid.UUID,
    data: SlaPolicyUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> SlaPolicyRead:
    policy = await service.update_policy(session, principal, sla_policy_id, data, if_match)
    return SlaPolicyRead.model_validate(policy)


@router.delete(
    "/{sla_policy_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an SLA policy",
    description="Its tickets that are not closed lose their SLA clocks; recorded breaches stay.",
    responses=problem_responses(404, 412, 428),
)
async def delete_sla_policy(
    sla_policy_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_policy(session, principal, sla_policy_id, if_match)
