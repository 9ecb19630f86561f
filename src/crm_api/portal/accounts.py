"""Portal accounts: invitations, sign-in by password or magic link, refresh-token rotation with
reuse detection, sign-out, and the staff's view of accounts.

Every token handed out (invitation, magic link, refresh) is random, stored only as its SHA-256
and usable once. A wrong email, a wrong password, a disabled account and an unknown token all
get the same kind of answer, so the API does not tell who has an account.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.config import Settings
from crm_api.core.errors import Conflict, Unauthorized, invalid_field
from crm_api.core.events import record_event
from crm_api.core.ids import new_id
from crm_api.core.pagination import ListParams, Sort, page_of, parse_sort
from crm_api.core.rate_limit import RateLimiter
from crm_api.core.records import get_owned, touch
from crm_api.emails.outbox import queue_email
from crm_api.models import Contact, PortalRefreshToken, PortalToken, PortalUser
from crm_api.models.base import utcnow

from . import repository
from .auth import (
    hash_opaque,
    hash_password,
    issue_access_token,
    new_opaque_token,
    signing_key,
    verify_password,
)
from .schemas import (
    AcceptInvitation,
    PasswordChange,
    PortalUserRead,
    SignIn,
    TokenPair,
)

_NOT_SIGNED_IN = "The email or password is wrong, or the account is not active."
_BAD_TOKEN = "The link is invalid, used or expired."  # noqa: S105 - a message
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crm-portal"'}


class SignInLimits:
    """Sign-in attempts counted per account and per client address (the `limits` library)."""

    def __init__(self, settings: Settings) -> None:
        storage = settings.rate_limit_storage
        self.account = RateLimiter(
            settings.portal_sign_in_limit_account,
            storage,
            "this portal account",
            policy="portal-sign-in-account",
        )
        self.address = RateLimiter(
            settings.portal_sign_in_limit_address,
            storage,
            "this client address",
            policy="portal-sign-in-address",
        )

    async def check(self, workspace_id: uuid.UUID, email: str, address: str) -> None:
        await self.address.check("portal_sign_in_address", address)
        await self.account.check("portal_sign_in_account", str(workspace_id), email.lower())


# --- Staff -------------------------------------------------------------------------------------


async def invite(
    session: AsyncSession,
    principal: Principal,
    settings: Settings,
    contact_id: uuid.UUID,
) -> tuple[PortalUser, datetime]:
    """The contact's portal account (made if new, back to invited if disabled) and a fresh
    invitation; earlier unused invitations stop working."""
    contact = await get_owned(session, Contact, principal, contact_id, "contact", for_update=True)
    if contact.archived_at is not None:
        raise Conflict("An archived contact cannot be invited; restore it first.")
    if not contact.email:
        raise invalid_field(["path", "contact_id"], "the contact has no email to invite")
    now = utcnow()
    user = await _invited_account(session, principal, contact, contact.email, now)
    await repository.use_up_email_tokens(session, principal.workspace_id, user.id, now)
    expires_at = now + timedelta(hours=settings.portal_invitation_hours)
    token = _issue_email_token(session, user, "invitation", expires_at)
    await _send_invitation(session, settings, user, token, expires_at)
    record_event(
        session, principal, "portal_user.invited", user.id, PortalUserRead.model_validate(user)
    )
    return user, expires_at


async def _invited_account(
    session: AsyncSession, principal: Principal, contact: Contact, email: str, now: datetime
) -> PortalUser:
    """The contact's account as invited: a new one (its email free among the workspace's
    accounts), or a disabled or invited one invited again; an active one is a 409."""
    user = await repository.account_of_contact(session, principal.workspace_id, contact.id)
    if user is not None:
        if user.status == "active":
            raise Conflict(
                "The contact already has an active portal account.", existing_id=str(user.id)
            )
        user.status, user.invited_at = "invited", now
        touch(user)
        return user
    taken = await repository.account_by_email(session, principal.workspace_id, email)
    if taken is not None:
        raise Conflict(
            "Another portal account signs in with this email.", existing_id=str(taken.id)
        )
    user = PortalUser(
        workspace_id=principal.workspace_id,
        id=new_id(),
        contact_id=contact.id,
        email=email.lower(),
        status="invited",
        preferences={},
        invited_at=now,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(user)
    await session.flush()  # before its tokens: they refer to it
    return user


async def _send_invitation(
    session: AsyncSession, settings: Settings, user: PortalUser, token: str, expires_at: datetime
) -> None:
    name = await repository.workspace_name(session, user.workspace_id)
    queue_email(
        session,
        user.workspace_id,
        user.email,
        f"Your {name} customer portal",
        f"Hello,\n\nyou are invited to the {name} customer portal. Choose a password or sign"
        f" in with this link, valid until {expires_at:%Y-%m-%d %H:%M} UTC:\n\n"
        f"{settings.portal_base_url}/accept-invitation?token={quote(token)}\n",
    )


def _issue_email_token(
    session: AsyncSession, user: PortalUser, purpose: str, expires_at: datetime
) -> str:
    token, digest = new_opaque_token()
    session.add(
        PortalToken(
            workspace_id=user.workspace_id,
            id=new_id(),
            portal_user_id=user.id,
            purpose=purpose,
            token_hash=digest,
            expires_at=expires_at,
            created_at=utcnow(),
        )
    )
    return token


async def list_portal_users(
    session: AsyncSession, principal: Principal, params: ListParams
) -> tuple[Sequence[PortalUser], str | None]:
    sort: Sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_accounts(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def disable(
    session: AsyncSession, principal: Principal, user_id: uuid.UUID, if_match: IfMatch
) -> PortalUser:
    """No more sign-ins; every refresh token revoked (access tokens stop at the next request:
    each one checks that the account is active)."""
    user = await get_owned(session, PortalUser, principal, user_id, "portal user", for_update=True)
    if_match.check(user.version)
    if user.status != "disabled":
        user.status = "disabled"
        touch(user)
        await _revoke(session, PortalRefreshToken.portal_user_id == user.id, user.workspace_id)
        record_event(
            session, principal, "portal_user.disabled", user.id, PortalUserRead.model_validate(user)
        )
    return user


async def _revoke(
    session: AsyncSession, which: ColumnElement[bool], workspace_id: uuid.UUID
) -> None:
    await repository.revoke_refresh_tokens(session, workspace_id, which, utcnow())


# --- Sign-in -----------------------------------------------------------------------------------


async def _tokens(
    session: AsyncSession,
    settings: Settings,
    user: PortalUser,
    family_id: uuid.UUID | None = None,
) -> TokenPair:
    now = utcnow()
    refresh, digest = new_opaque_token()
    family_id = family_id or new_id()
    session.add(
        PortalRefreshToken(
            workspace_id=user.workspace_id,
            id=new_id(),
            portal_user_id=user.id,
            family_id=family_id,
            token_hash=digest,
            expires_at=now + timedelta(days=settings.portal_refresh_token_days),
            created_at=now,
        )
    )
    return TokenPair(
        access_token=issue_access_token(
            await signing_key(session, settings), settings, user, now, family_id
        ),
        expires_in=settings.portal_access_token_minutes * 60,
        refresh_token=refresh,
    )


async def _redeem(session: AsyncSession, token: str, purpose: str) -> PortalUser:
    row = await repository.email_token(session, hash_opaque(token))
    now = utcnow()
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now:
        raise Unauthorized(_BAD_TOKEN, headers=_CHALLENGE)
    row.used_at = now
    user = await session.get(
        PortalUser, (row.workspace_id, row.portal_user_id), with_for_update=True
    )
    assert user is not None  # tokens go with their account
    return user


async def accept_invitation(
    session: AsyncSession, settings: Settings, data: AcceptInvitation
) -> TokenPair:
    user = await _redeem(session, data.token, "invitation")
    if user.status != "invited":
        raise Unauthorized(_BAD_TOKEN, headers=_CHALLENGE)
    if data.password is not None:
        user.password_hash = await hash_password(data.password)
    user.status = "active"
    user.last_sign_in_at = utcnow()
    touch(user)
    record_event(
        session,
        _as(user),
        "portal_user.activated",
        user.id,
        PortalUserRead.model_validate(user),
    )
    return await _tokens(session, settings, user)


def _as(user: PortalUser) -> Principal:
    return Principal(
        workspace_id=user.workspace_id,
        actor_id=user.id,
        scopes=frozenset(),
        actor_type="portal_user",
    )


async def _account(session: AsyncSession, workspace_id: uuid.UUID, email: str) -> PortalUser | None:
    return await repository.account_by_email(session, workspace_id, email)


async def sign_in(
    session: AsyncSession, settings: Settings, limits: SignInLimits, data: SignIn, address: str
) -> TokenPair:
    await limits.check(data.workspace_id, data.email, address)
    user = await _account(session, data.workspace_id, data.email)
    stored = user.password_hash if user is not None else None
    if not await verify_password(stored, data.password) or user is None or user.status != "active":
        raise Unauthorized(_NOT_SIGNED_IN, headers=_CHALLENGE)
    user.last_sign_in_at = utcnow()
    return await _tokens(session, settings, user)


async def request_magic_link(
    session: AsyncSession,
    settings: Settings,
    limits: SignInLimits,
    workspace_id: uuid.UUID,
    email: str,
    address: str,
) -> None:
    """Queues a sign-in link when an active account has this email; says nothing either way."""
    await limits.check(workspace_id, email, address)
    user = await _account(session, workspace_id, email)
    if user is None or user.status != "active":
        return
    expires_at = utcnow() + timedelta(minutes=settings.portal_magic_link_minutes)
    token = _issue_email_token(session, user, "magic_link", expires_at)
    queue_email(
        session,
        user.workspace_id,
        user.email,
        "Your sign-in link",
        "Sign in to the customer portal with this link, valid for"
        f" {settings.portal_magic_link_minutes} minutes and once:\n\n"
        f"{settings.portal_base_url}/sign-in?token={quote(token)}\n",
    )


async def redeem_magic_link(session: AsyncSession, settings: Settings, token: str) -> TokenPair:
    user = await _redeem(session, token, "magic_link")
    if user.status != "active":
        raise Unauthorized(_BAD_TOKEN, headers=_CHALLENGE)
    user.last_sign_in_at = utcnow()
    return await _tokens(session, settings, user)


async def refresh(session: AsyncSession, settings: Settings, token: str) -> TokenPair:
    """A new pair for a live refresh token, which is used up. A used-up one presented again
    means a copy is in other hands: its whole family is revoked (committed before the 401)."""
    row = await repository.refresh_token(session, hash_opaque(token), for_update=True)
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("The refresh token is invalid, revoked or expired.", headers=_CHALLENGE)
    if row.rotated_at is not None:
        await _revoke(session, PortalRefreshToken.family_id == row.family_id, row.workspace_id)
        await session.commit()
        raise Unauthorized(
            "The refresh token was already used; every session of this sign-in is revoked.",
            headers=_CHALLENGE,
        )
    user = await session.get(PortalUser, (row.workspace_id, row.portal_user_id))
    if user is None or user.status != "active":
        raise Unauthorized("The portal account is disabled or gone.", headers=_CHALLENGE)
    row.rotated_at = now
    return await _tokens(session, settings, user, row.family_id)


async def sign_out(session: AsyncSession, token: str) -> None:
    row = await repository.refresh_token(session, hash_opaque(token))
    if row is not None:
        await _revoke(session, PortalRefreshToken.family_id == row.family_id, row.workspace_id)


async def change_password(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    data: PasswordChange,
    current_session: uuid.UUID,
) -> None:
    """A new password, and every other sign-in of the account ended (this one goes on)."""
    user = await session.get(PortalUser, (workspace_id, user_id), with_for_update=True)
    assert user is not None  # the signed-in customer's own account
    if user.password_hash is not None and not (
        data.current_password and await verify_password(user.password_hash, data.current_password)
    ):
        raise invalid_field(["body", "current_password"], "the current password is wrong")
    user.password_hash = await hash_password(data.new_password)
    touch(user)
    await _revoke(
        session,
        (PortalRefreshToken.portal_user_id == user.id)
        & (PortalRefreshToken.family_id != current_session),
        workspace_id,
    )
