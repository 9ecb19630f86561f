import uuid
from typing import Annotated, Any

from fastapi import Depends, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies import service as companies_service
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.batch import BATCH_DESCRIPTION, BatchRequest, BatchResult, batch
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.members import service as members_service

from . import service
from .schemas import (
    ContactCreate,
    ContactExportRow,
    ContactListParams,
    ContactRead,
    ContactUpdate,
    ContactUpsert,
    LifecycleChangeRead,
    LifecycleHistoryParams,
    contacts_of,
)

router = crm_router("/v1/contacts", "Contacts")
Reader = Annotated[Principal, Depends(require(Scope.contacts_read))]
Writer = Annotated[Principal, Depends(require(Scope.contacts_write))]
_CHANGE_ERRORS = problem_responses(404, 409, 412, 428)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a contact",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_contact(
    data: ContactCreate, session: SessionDep, principal: Writer, response: Response
) -> ContactRead:
    contact = await service.create_contact(session, principal, data)
    response.headers["Location"] = f"/v1/contacts/{contact.id}"
    return ContactRead.model_validate(contact)


@router.post(
    "/upsert",
    summary="Create or update a contact by email",
    description="Updates the contact with this email (200), or creates one (201). "
    "The fields sent are applied as in PATCH.",
    responses={
        201: {"model": ContactRead, "description": "Created"},
        **problem_responses(400, 409, 413, 415),
    },
)
async def upsert_contact(
    data: ContactUpsert, session: SessionDep, principal: Writer, response: Response
) -> ContactRead:
    contact, created = await service.upsert_contact(session, principal, data)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/contacts/{contact.id}"
    return ContactRead.model_validate(contact)


@router.get("", summary="List contacts", openapi_extra=documented_params(ContactListParams))
async def list_contacts(
    params: Annotated[ContactListParams, Depends(list_params(ContactListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[ContactRead]:
    rows, next_cursor = await service.list_contacts(session, principal, params)
    return Page(data=contacts_of(rows), next_cursor=next_cursor)


@router.get("/{contact_id:uuid}", summary="Get a contact", responses=problem_responses(404))
async def get_contact(contact_id: uuid.UUID, session: SessionDep, principal: Reader) -> ContactRead:
    contact = await service.read_contact(session, principal, contact_id)
    return contact


@router.patch(
    "/{contact_id:uuid}",
    summary="Update a contact",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_contact(
    contact_id: uuid.UUID,
    data: ContactUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> ContactRead:
    contact = await service.update_contact(session, principal, contact_id, data, if_match)
    return ContactRead.model_validate(contact)


@router.post("/{contact_id:uuid}/archive", summary="Archive a contact", responses=_CHANGE_ERRORS)
async def archive_contact(
    contact_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> ContactRead:
    contact = await service.archive_contact(session, principal, contact_id, if_match, archived=True)
    return ContactRead.model_validate(contact)


@router.post(
    "/{contact_id:uuid}/restore", summary="Restore an archived contact", responses=_CHANGE_ERRORS
)
async def restore_contact(
    contact_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> ContactRead:
    contact = await service.archive_contact(
        session, principal, contact_id, if_match, archived=False
    )
    return ContactRead.model_validate(contact)


@router.delete(
    "/{contact_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an archived contact for good",
    description="Only an archived contact can be deleted (409 otherwise).",
    responses=_CHANGE_ERRORS,
)
async def delete_contact(
    contact_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_contact(session, principal, contact_id, if_match)


@router.get(
    "/{contact_id:uuid}/lifecycle-history",
    summary="A contact's lifecycle-stage changes, oldest first",
    responses=problem_responses(404),
    openapi_extra=documented_params(LifecycleHistoryParams),
)
async def get_lifecycle_history(
    contact_id: uuid.UUID,
    params: Annotated[LifecycleHistoryParams, Depends(list_params(LifecycleHistoryParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[LifecycleChangeRead]:
    rows, next_cursor = await service.lifecycle_history(session, principal, contact_id, params)
    return Page(
        data=[LifecycleChangeRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/batch",
    summary="Create, update or upsert up to 100 contacts",
    description=BATCH_DESCRIPTION + " Upsert matches on email.",
    responses=problem_responses(400, 413, 415),
)
async def batch_contacts(
    data: BatchRequest, session: SessionDep, principal: Writer
) -> BatchResult[ContactRead]:
    return await batch(
        session,
        data,
        ContactRead.model_validate,
        create=(ContactCreate, lambda item: service.create_contact(session, principal, item)),
        update=(
            ContactUpdate,
            lambda id_, item, check: service.update_contact(session, principal, id_, item, check),
        ),
        upsert=(ContactUpsert, lambda item: service.upsert_contact(session, principal, item)),
    )


async def _contacts_page(
    session: AsyncSession, principal: Principal, params: Any
) -> tuple[list[ContactRead], str | None]:
    rows, cursor = await service.list_contacts(session, principal, params)
    return contacts_of(rows), cursor


async def _contacts_export(
    session: AsyncSession, principal: Principal, params: Any
) -> tuple[list[ContactExportRow], str | None]:
    contacts, cursor = await _contacts_page(session, principal, params)
    domains = await companies_service.domains_of(
        session, principal, (c.company_id for c in contacts)
    )
    emails = await members_service.emails_of(session, principal, (c.owner_id for c in contacts))
    rows = [
        ContactExportRow.model_construct(
            **dict(contact),
            company_domain=domains.get(contact.company_id) if contact.company_id else None,
            owner_email=emails.get(contact.owner_id) if contact.owner_id else None,
        )
        for contact in contacts
    ]
    return rows, cursor


add_export_route(
    router,
    plural="contacts",
    list_model=ContactListParams,
    fetch=_contacts_export,
    read=ContactExportRow,
    reader=Reader,
    importable=True,
)
