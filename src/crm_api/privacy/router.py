"""Subject access and erasure: `/v1/contacts/{id}/data-export` and `/v1/contacts/{id}/erase`."""

import uuid
from typing import Annotated

from fastapi import Depends

from crm_api.contacts.service import get_contact
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from .erase import ErasureRead, erase_contact
from .export import DataExport, subject_data

router = crm_router("/v1/contacts", "Privacy")
Reader = Annotated[Principal, Depends(require(Scope.contacts_read))]
Eraser = Annotated[Principal, Depends(require(Scope.privacy_write))]


@router.get(
    "/{contact_id:uuid}/data-export",
    summary="Everything held about a person (subject access)",
    description="The contact with every field, portal account, consent history, tickets with "
    "all their messages, orders, survey answers, interactions, deals and lifecycle history.",
    responses=problem_responses(404),
)
async def export_contact_data(
    contact_id: uuid.UUID, session: SessionDep, principal: Reader
) -> DataExport:
    contact = await get_contact(session, principal, contact_id)
    return await subject_data(session, contact, for_customer=False)


@router.post(
    "/{contact_id:uuid}/erase",
    summary="Erase a person (right to be forgotten)",
    description="Removes or irreversibly anonymises the person's data across contacts, "
    "interactions, tickets and messages, orders, tasks, surveys, consents, the portal, events, "
    "the audit log and stored responses, in one transaction; keeps what KPIs count (totals, "
    "times, scores). The contact stays, anonymised and archived. `contact.erased` is recorded "
    "without the erased data. The email's SHA-256 is kept: creating a contact with it again "
    "needs `reimport_erased: true`. Scope `privacy:write`.",
    responses=problem_responses(404),
)
async def erase(contact_id: uuid.UUID, session: SessionDep, principal: Eraser) -> ErasureRead:
    contact = await get_contact(session, principal, contact_id, for_update=True)
    return await erase_contact(session, principal, contact)
