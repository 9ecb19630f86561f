import uuid
from typing import Annotated

from fastapi import Depends

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import TimelineEntry, TimelineParams

router = crm_router("/v1", "Timeline")
ContactsReader = Annotated[Principal, Depends(require(Scope.contacts_read))]
CompaniesReader = Annotated[Principal, Depends(require(Scope.companies_read))]
Params = Annotated[TimelineParams, Depends(list_params(TimelineParams))]
_DESCRIPTION = (
    "Everything that happened to this customer, newest first: interactions, tasks, deal stage "
    "changes, lifecycle changes and ticket status changes, in one keyset-paginated stream."
)


@router.get(
    "/contacts/{contact_id:uuid}/timeline",
    summary="A contact's timeline",
    description=_DESCRIPTION,
    responses=problem_responses(404),
    openapi_extra=documented_params(TimelineParams),
)
async def contact_timeline(
    contact_id: uuid.UUID, params: Params, session: SessionDep, principal: ContactsReader
) -> Page[TimelineEntry]:
    entries, next_cursor = await service.contact_timeline(session, principal, contact_id, params)
    return Page(data=entries, next_cursor=next_cursor)


@router.get(
    "/companies/{company_id:uuid}/timeline",
    summary="A company's timeline",
    description=_DESCRIPTION + " For a company: its own records and those of its contacts.",
    responses=problem_responses(404),
    openapi_extra=documented_params(TimelineParams),
)
async def company_timeline(
    company_id: uuid.UUID, params: Params, session: SessionDep, principal: CompaniesReader
) -> Page[TimelineEntry]:
    entries, next_cursor = await service.company_timeline(session, principal, company_id, params)
    return Page(data=entries, next_cursor=next_cursor)
