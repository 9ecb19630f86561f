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
from .schemas import SurveyResponseCreate, SurveyResponseListParams, SurveyResponseRead

router = crm_router("/v1/survey-responses", "Survey responses")
Reader = Annotated[Principal, Depends(require(Scope.surveys_read))]
Writer = Annotated[Principal, Depends(require(Scope.surveys_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Record a CSAT rating or an NPS answer",
    description="CSAT (`kind: csat`) rates a solved or closed ticket for its requester, once per "
    "ticket (409 otherwise). NPS (`kind: nps`) is a contact's 0-10 answer, as often as given.",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_survey_response(
    data: SurveyResponseCreate, session: SessionDep, principal: Writer, response: Response
) -> SurveyResponseRead:
    created = await service.create_response(session, principal, data)
    response.headers["Location"] = f"/v1/survey-responses/{created.id}"
    return SurveyResponseRead.model_validate(created)


@router.get(
    "",
    summary="List survey responses",
    openapi_extra=documented_params(SurveyResponseListParams),
)
async def list_survey_responses(
    params: Annotated[SurveyResponseListParams, Depends(list_params(SurveyResponseListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[SurveyResponseRead]:
    rows, next_cursor = await service.list_responses(session, principal, params)
    return Page(
        data=[SurveyResponseRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.get(
    "/{survey_response_id:uuid}",
    summary="Get a survey response",
    responses=problem_responses(404),
)
async def get_survey_response(
    survey_response_id: uuid.UUID, session: SessionDep, principal: Reader
) -> SurveyResponseRead:
    return SurveyResponseRead.model_validate(
        await service.get_response(session, principal, survey_response_id)
    )
