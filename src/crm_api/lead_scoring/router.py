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
from .schemas import RuleCreate, RuleListParams, RuleRead, RuleUpdate

router = crm_router("/v1/lead-scoring-rules", "Lead scoring")
Reader = Annotated[Principal, Depends(require(Scope.contacts_read))]
Writer = Annotated[Principal, Depends(require(Scope.lead_scoring_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a lead scoring rule",
    description=(service.__doc__ or "") + "\n\nEvery contact's score is recomputed at once.",
    responses=problem_responses(400, 413, 415),
)
async def create_lead_scoring_rule(
    data: RuleCreate, session: SessionDep, principal: Writer, response: Response
) -> RuleRead:
    rule = await service.create_rule(session, principal, data)
    response.headers["Location"] = f"/v1/lead-scoring-rules/{rule.id}"
    return RuleRead.model_validate(rule)


@router.get("", summary="List lead scoring rules", openapi_extra=documented_params(RuleListParams))
async def list_lead_scoring_rules(
    principal: Reader,
    params: Annotated[RuleListParams, Depends(list_params(RuleListParams))],
    session: SessionDep,
) -> Page[RuleRead]:
    rows, next_cursor = await service.list_rules(session, principal, params)
    return Page(data=[RuleRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{rule_id:uuid}", summary="Get a lead scoring rule", responses=problem_responses(404))
async def get_lead_scoring_rule(
    rule_id: uuid.UUID, session: SessionDep, principal: Reader
) -> RuleRead:
    return RuleRead.model_validate(await service.get_rule(session, principal, rule_id))


@router.patch(
    "/{rule_id:uuid}",
    summary="Rename a rule or change its points",
    responses=problem_responses(400, 404, 412, 413, 415, 428),
)
async def update_lead_scoring_rule(
    rule_id: uuid.UUID,
    data: RuleUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> RuleRead:
    return RuleRead.model_validate(
        await service.update_rule(session, principal, rule_id, data, if_match)
    )


@router.delete(
    "/{rule_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a lead scoring rule",
    responses=problem_responses(404, 412, 428),
)
async def delete_lead_scoring_rule(
    rule_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_rule(session, principal, rule_id, if_match)
