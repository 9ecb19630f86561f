import uuid
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.errors import Conflict, invalid_field
from crm_api.core.events import record_event
from crm_api.core.filters import in_range
from crm_api.core.pagination import page_of, paginate, parse_sort
from crm_api.core.records import get_owned, unique_guard
from crm_api.models import SurveyResponse, Ticket
from crm_api.models.base import utcnow

from .schemas import CsatCreate, NpsCreate, SurveyResponseListParams, SurveyResponseRead

SORTABLE = {"responded_at": SurveyResponse.responded_at}
RATEABLE = frozenset({"solved", "closed"})


async def _csat_of(
    session: AsyncSession, workspace_id: uuid.UUID, ticket_id: uuid.UUID
) -> SurveyResponse | None:
    return await session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.workspace_id == workspace_id,
            SurveyResponse.kind == "csat",
            SurveyResponse.ticket_id == ticket_id,
        )
    )


async def create_response(
    session: AsyncSession, principal: Principal, data: CsatCreate | NpsCreate
) -> SurveyResponse:
    response = SurveyResponse(
        workspace_id=principal.workspace_id,
        kind=data.kind,
        score=data.score,
        comment=data.comment,
        responded_at=data.responded_at or utcnow(),
        created_at=utcnow(),
    )
    if isinstance(data, NpsCreate):
        response.contact_id = data.contact_id
        session.add(response)
        await session.flush()
    else:
        ticket = await session.get(Ticket, (principal.workspace_id, data.ticket_id))
        if ticket is None:
            raise invalid_field(["body", "ticket_id"], "no such ticket")
        if ticket.status not in RATEABLE:
            raise Conflict(
                f"Only a solved or closed ticket can be rated; this one is {ticket.status}.",
                allowed=sorted(RATEABLE),
            )
        response.ticket_id, response.contact_id = ticket.id, ticket.requester_id
        async with unique_guard(
            session,
            constraint="uq_survey_responses_csat",
            field="ticket_id",
            find_existing=lambda: _csat_of(session, principal.workspace_id, data.ticket_id),
        ):
            session.add(response)
    record_event(
        session,
        principal,
        "survey_response.created",
        response.id,
        SurveyResponseRead.model_validate(response),
    )
    return response


async def get_response(
    session: AsyncSession, principal: Principal, response_id: uuid.UUID
) -> SurveyResponse:
    return await get_owned(session, SurveyResponse, principal, response_id, "survey response")


async def list_responses(
    session: AsyncSession, principal: Principal, params: SurveyResponseListParams
) -> tuple[list[SurveyResponse], str | None]:
    sort = parse_sort(params.sort, SORTABLE)
    conditions: list[ColumnElement[bool]] = [
        *in_range(SurveyResponse.score, params.score_gte, params.score_lte),
        *in_range(SurveyResponse.responded_at, params.responded_at_gte, params.responded_at_lte),
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (SurveyResponse.kind, params.kind),
        (SurveyResponse.contact_id, params.contact_id),
        (SurveyResponse.ticket_id, params.ticket_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    statement = select(SurveyResponse).where(
        SurveyResponse.workspace_id == principal.workspace_id, *conditions
    )
    rows = (await session.scalars(paginate(statement, SurveyResponse.id, sort, params))).all()
    return page_of(rows, sort, params)
