"""Data hygiene: duplicate candidates of contacts and companies, and contact merges."""

import base64
import binascii
import uuid
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel, Field

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import invalid_field, problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from .duplicates import NAME_SIMILARITY, candidates
from .merge import MergeRead, MergeRequest, merge_contacts

router = crm_router("/v1", "Data hygiene")
ContactsReader = Annotated[Principal, Depends(require(Scope.contacts_read))]
ContactsWriter = Annotated[Principal, Depends(require(Scope.contacts_write))]
CompaniesReader = Annotated[Principal, Depends(require(Scope.companies_read))]


class DuplicatePair(BaseModel):
    first_id: uuid.UUID
    second_id: uuid.UUID
    reasons: list[str] = Field(
        description="Contacts: email, phone, similar_name_same_company. Companies: "
        "similar_name, same_domain."
    )
    name_similarity: float | None = Field(description="pg_trgm similarity of the names, 0-1.")


class DuplicateParams(BaseModel):
    model_config = {"extra": "forbid"}

    limit: int = Field(default=25, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


def _after(cursor: str | None) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        first, second = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).split(b":")
        return uuid.UUID(first.decode()), uuid.UUID(second.decode())
    except (ValueError, binascii.Error):
        raise invalid_field(["query", "cursor"], "the cursor is not valid") from None


async def _page(
    session: SessionDep, principal: Principal, kind: str, params: DuplicateParams
) -> Page[DuplicatePair]:
    rows = await candidates(
        session, principal.workspace_id, kind, _after(params.cursor), params.limit + 1
    )
    pairs = [DuplicatePair.model_validate(row._asdict()) for row in rows[: params.limit]]
    cursor = None
    if len(rows) > params.limit:
        last = pairs[-1]
        raw = f"{last.first_id}:{last.second_id}".encode()
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return Page(data=pairs, next_cursor=cursor)


_SIMILAR = f"names at least {NAME_SIMILARITY} similar (pg_trgm)"


@router.get(
    "/contacts/duplicates",
    summary="Duplicate candidates among contacts",
    description="Pairs sharing an email (ignoring case, primary or additional), a phone "
    f"number (E.164), or with {_SIMILAR} at the same company. Archived contacts are left out.",
    openapi_extra=documented_params(DuplicateParams),
)
async def contact_duplicates(
    params: Annotated[DuplicateParams, Depends(list_params(DuplicateParams))],
    session: SessionDep,
    principal: ContactsReader,
) -> Page[DuplicatePair]:
    return await _page(session, principal, "contacts", params)


@router.get(
    "/companies/duplicates",
    summary="Duplicate candidates among companies",
    description=f"Pairs with {_SIMILAR}, or domains under the same registrable domain.",
    openapi_extra=documented_params(DuplicateParams),
)
async def company_duplicates(
    params: Annotated[DuplicateParams, Depends(list_params(DuplicateParams))],
    session: SessionDep,
    principal: CompaniesReader,
) -> Page[DuplicatePair]:
    return await _page(session, principal, "companies", params)


@router.post(
    "/contacts/{contact_id:uuid}/merge",
    summary="Merge a duplicate into this contact",
    description="Moves the source's interactions, tasks, tickets, orders, survey answers, "
    "consents, lifecycle history, deal links and (if this contact has none) portal account "
    "here; keeps this contact's values except `take_from_source`, filling empty ones from the "
    "source; deletes the source; emits `contact.merged` (and `contact.deleted` for the source).",
    responses=problem_responses(400, 404, 409, 413, 415),
)
async def merge_contact(
    contact_id: uuid.UUID, data: MergeRequest, session: SessionDep, principal: ContactsWriter
) -> MergeRead:
    return await merge_contacts(session, principal, contact_id, data)
