"""Signing in to the customer portal (`/v1/portal/...`, no credentials needed): invitations,
passwords, magic links, token refresh and sign-out."""

from fastapi import Request, status

from crm_api.core.errors import problem_responses
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import accounts
from .routing import SignInRoute
from .schemas import (
    AcceptInvitation,
    MagicLinkRedeem,
    MagicLinkRequest,
    Refresh,
    SignIn,
    TokenPair,
)

sign_in_router = crm_router("/v1/portal", "Portal sign-in", SignInRoute)
_SIGN_IN_ERRORS = problem_responses(400, 413, 415)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@sign_in_router.post(
    "/invitations/accept",
    summary="Accept an invitation",
    description="With the token from the invitation email, and a password to sign in with "
    "later (or none, to use magic links). Answers the first tokens.",
    responses=_SIGN_IN_ERRORS,
)
async def accept_invitation(
    data: AcceptInvitation, session: SessionDep, request: Request
) -> TokenPair:
    return await accounts.accept_invitation(session, request.app.state.settings, data)


@sign_in_router.post(
    "/sign-in",
    summary="Sign in with email and password",
    description="Limited per account (CRM_PORTAL_SIGN_IN_LIMIT_ACCOUNT, 5/minute) and per client "
    "address (30/minute): 429 with Retry-After beyond that.",
    responses=_SIGN_IN_ERRORS,
)
async def sign_in(data: SignIn, session: SessionDep, request: Request) -> TokenPair:
    return await accounts.sign_in(
        session,
        request.app.state.settings,
        request.app.state.sign_in_limits,
        data,
        _address(request),
    )


@sign_in_router.post(
    "/magic-links",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Email a sign-in link",
    description="Always 202: whether an active account has this email is not told. Limited "
    "like sign-in.",
    responses=_SIGN_IN_ERRORS,
)
async def request_magic_link(data: MagicLinkRequest, session: SessionDep, request: Request) -> None:
    await accounts.request_magic_link(
        session,
        request.app.state.settings,
        request.app.state.sign_in_limits,
        data.workspace_id,
        data.email,
        _address(request),
    )


@sign_in_router.post(
    "/magic-links/redeem",
    summary="Sign in with a magic link's token",
    responses=_SIGN_IN_ERRORS,
)
async def redeem_magic_link(
    data: MagicLinkRedeem, session: SessionDep, request: Request
) -> TokenPair:
    return await accounts.redeem_magic_link(session, request.app.state.settings, data.token)


@sign_in_router.post(
    "/tokens/refresh",
    summary="Exchange a refresh token for new tokens",
    description="The refresh token is used up and a new one returned. Presenting a used-up one "
    "again revokes every token of that sign-in (401).",
    responses=_SIGN_IN_ERRORS,
)
async def refresh_tokens(data: Refresh, session: SessionDep, request: Request) -> TokenPair:
    return await accounts.refresh(session, request.app.state.settings, data.refresh_token)


@sign_in_router.post(
    "/sign-out",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Revokes the refresh token and every token refreshed from the same sign-in.",
    responses=_SIGN_IN_ERRORS,
)
async def sign_out(data: Refresh, session: SessionDep) -> None:
    await accounts.sign_out(session, data.refresh_token)
