"""Consent per contact and purpose: `/v1/contacts/{id}/consents`."""

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.contacts.service import get_contact
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.events import record_event
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import ConsentCreate, ConsentOverview, ConsentRead

router = crm_router("/v1/contacts", "Consent")
Reader = Annotated[Principal, Depends(require(Scope.contacts_read))]
Writer = Annotated[Principal, Depends(require(Scope.contacts_write))]


@router.get(
    "/{contact_id:uuid}/consents",
    summary="A contact's consents",
    description="What is in force per purpose, and the whole history as evidence.",
    responses=problem_responses(404),
)
async def get_contact_consents(
    contact_id: uuid.UUID, session: SessionDep, principal: Reader
) -> ConsentOverview:
    await get_contact(session, principal, contact_id)
    return ConsentOverview(
        in_force={
            purpose: ConsentRead.model_validate(row)
            for purpose, row in (
                await service.latest(session, principal.workspace_id, contact_id)
            ).items()
        },
        history=[
            ConsentRead.model_validate(row)
            for row in await service.history(session, principal.workspace_id, contact_id)
        ],
    )


@router.post(
    "/{contact_id:uuid}/consents",
    status_code=status.HTTP_201_CREATED,
    summary="Record a grant or withdrawal of consent",
    description="Appends to the history (records are never changed); emits "
    "`contact.consent_recorded`. Lists and segments take `consented_to=<purpose>`.",
    responses=problem_responses(400, 404, 413, 415),
)
async def record_contact_consent(
    contact_id: uuid.UUID,
    data: ConsentCreate,
    session: SessionDep,
    principal: Writer,
    response: Response,
) -> ConsentRead:
    await get_contact(session, principal, contact_id)
    consent = await service.record(
        session,
        principal,
        contact_id,
        data.purpose,
        granted=data.granted,
        source=data.source,
        proof=data.proof,
        at=data.recorded_at,
    )
    read = ConsentRead.model_validate(consent)
    record_event(session, principal, "contact.consent_recorded", contact_id, read)
    response.headers["Location"] = f"/v1/contacts/{contact_id}/consents"
    return read
