"""Staff routes that manage portal accounts: invite, list, read and disable them (API keys with
the `portal:*` scopes)."""

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.openapi_headers import LOCATION
from crm_api.core.pagination import ListParams, Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.records import get_owned
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.models import PortalUser

from . import accounts
from .schemas import (
    InvitationRead,
    PortalUserRead,
)

staff_router = crm_router("/v1", "Portal users")
Reader = Annotated[Principal, Depends(require(Scope.portal_read))]
Writer = Annotated[Principal, Depends(require(Scope.portal_write))]


@staff_router.post(
    "/contacts/{contact_id:uuid}/portal-invitations",
    status_code=status.HTTP_201_CREATED,
    summary="Invite a contact to the customer portal",
    description="Makes the contact's portal account (signing in with the contact's email) if "
    "new, and emails a single-use invitation through the outbox, valid "
    "CRM_PORTAL_INVITATION_HOURS (72). Earlier unused invitations stop working. 409 when the "
    "account is already active.",
    responses={
        201: {"headers": {"Location": {**LOCATION, "description": "The portal account's URL."}}},
        **problem_responses(400, 404, 409, 413, 415),
    },
)
async def invite_contact(
    contact_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    request: Request,
    response: Response,
) -> InvitationRead:
    user, expires_at = await accounts.invite(
        session, principal, request.app.state.settings, contact_id
    )
    response.headers["Location"] = f"/v1/portal-users/{user.id}"
    return InvitationRead(portal_user=PortalUserRead.model_validate(user), expires_at=expires_at)


@staff_router.get(
    "/portal-users", summary="List portal accounts", openapi_extra=documented_params(ListParams)
)
async def list_portal_users(
    params: Annotated[ListParams, Depends(list_params(ListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[PortalUserRead]:
    rows, next_cursor = await accounts.list_portal_users(session, principal, params)
    return Page(data=[PortalUserRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@staff_router.get(
    "/portal-users/{portal_user_id:uuid}",
    summary="Get a portal account",
    responses=problem_responses(404),
)
async def get_portal_user(
    portal_user_id: uuid.UUID, session: SessionDep, principal: Reader
) -> PortalUserRead:
    user = await get_owned(session, PortalUser, principal, portal_user_id, "portal user")
    return PortalUserRead.model_validate(user)


@staff_router.post(
    "/portal-users/{portal_user_id:uuid}/disable",
    summary="Disable a portal account",
    description="No more sign-ins and every refresh token revoked; access tokens stop working "
    "at once. Inviting the contact again re-opens the account.",
    responses=problem_responses(404, 412, 428),
)
async def disable_portal_user(
    portal_user_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> PortalUserRead:
    user = await accounts.disable(session, principal, portal_user_id, if_match)
    return PortalUserRead.model_validate(user)
