import uuid
from typing import Annotated, Any

from fastapi import Depends, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts import service as contacts_service
from crm_api.contacts.schemas import ContactListParams, ContactRead, contacts_of
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.batch import BATCH_DESCRIPTION, BatchRequest, BatchResult, batch
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import CompanyCreate, CompanyListParams, CompanyRead, CompanyUpdate, CompanyUpsert

router = crm_router("/v1/companies", "Companies")
Reader = Annotated[Principal, Depends(require(Scope.companies_read))]
Writer = Annotated[Principal, Depends(require(Scope.companies_write))]
ContactsReader = Annotated[Principal, Depends(require(Scope.contacts_read))]
_CHANGE_ERRORS = problem_responses(404, 409, 412, 428)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a company",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_company(
    data: CompanyCreate, session: SessionDep, principal: Writer, response: Response
) -> CompanyRead:
    company = await service.create_company(session, principal, data)
    response.headers["Location"] = f"/v1/companies/{company.id}"
    return CompanyRead.of(company)


@router.get("", summary="List companies", openapi_extra=documented_params(CompanyListParams))
async def list_companies(
    params: Annotated[CompanyListParams, Depends(list_params(CompanyListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[CompanyRead]:
    rows, next_cursor = await service.list_companies(session, principal, params)
    return Page(data=[CompanyRead.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/{company_id:uuid}", summary="Get a company", responses=problem_responses(404))
async def get_company(company_id: uuid.UUID, session: SessionDep, principal: Reader) -> CompanyRead:
    return await service.read_company(session, principal, company_id)


@router.patch(
    "/{company_id:uuid}",
    summary="Update a company",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_company(
    company_id: uuid.UUID,
    data: CompanyUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> CompanyRead:
    company = await service.update_company(session, principal, company_id, data, if_match)
    return CompanyRead.of(company)


@router.post("/{company_id:uuid}/archive", summary="Archive a company", responses=_CHANGE_ERRORS)
async def archive_company(
    company_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> CompanyRead:
    company = await service.archive_company(session, principal, company_id, if_match, archived=True)
    return CompanyRead.of(company)


@router.post(
    "/{company_id:uuid}/restore", summary="Restore an archived company", responses=_CHANGE_ERRORS
)
async def restore_company(
    company_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> CompanyRead:
    company = await service.archive_company(
        session, principal, company_id, if_match, archived=False
    )
    return CompanyRead.of(company)


@router.delete(
    "/{company_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an archived company for good",
    description="Only an archived company can be deleted (409 otherwise); its contacts stay, "
    "without a company.",
    responses=_CHANGE_ERRORS,
)
async def delete_company(
    company_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_company(session, principal, company_id, if_match)


@router.get(
    "/{company_id:uuid}/contacts",
    summary="List a company's contacts",
    description="Takes the same filters as the contacts list. Needs `companies:read` and "
    "`contacts:read`.",
    responses=problem_responses(404),
    openapi_extra=documented_params(ContactListParams),
)
async def list_company_contacts(
    company_id: uuid.UUID,
    params: Annotated[ContactListParams, Depends(list_params(ContactListParams))],
    session: SessionDep,
    principal: Reader,
    _contacts_reader: ContactsReader,
) -> Page[ContactRead]:
    await service.get_company(session, principal, company_id)
    scoped = params.model_copy(update={"company_id": company_id})
    rows, next_cursor = await contacts_service.list_contacts(session, principal, scoped)
    return Page(data=contacts_of(rows), next_cursor=next_cursor)


@router.post(
    "/batch",
    summary="Create, update or upsert up to 100 companies",
    description=BATCH_DESCRIPTION + " Upsert matches on domain.",
    responses=problem_responses(400, 413, 415),
)
async def batch_companies(
    data: BatchRequest, session: SessionDep, principal: Writer
) -> BatchResult[CompanyRead]:
    return await batch(
        session,
        data,
        CompanyRead.of,
        create=(CompanyCreate, lambda item: service.create_company(session, principal, item)),
        update=(
            CompanyUpdate,
            lambda id_, item, check: service.update_company(session, principal, id_, item, check),
        ),
        upsert=(CompanyUpsert, lambda item: service.upsert_company(session, principal, item)),
    )


async def _companies_page(
    session: AsyncSession, principal: Principal, params: Any
) -> tuple[list[CompanyRead], str | None]:
    rows, cursor = await service.list_companies(session, principal, params)
    return [CompanyRead.of(row) for row in rows], cursor


add_export_route(
    router,
    plural="companies",
    list_model=CompanyListParams,
    fetch=_companies_page,
    read=CompanyRead,
    reader=Reader,
    importable=True,
)
