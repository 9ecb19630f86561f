"""Portal credentials: argon2id password hashes, HS256 access tokens (15 minutes), opaque
single-use tokens for emails and refreshes, and the dependency that turns an access token into
the customer it speaks for.

Access tokens carry the audience ``crm-portal`` and a ``typ`` of ``portal``: an API key is not
a JWT and a portal token is not an API key, so neither opens the other's routes.
"""

import asyncio
import hashlib
import secrets
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.config import Settings
from crm_api.core.errors import Unauthorized
from crm_api.models import Contact, PortalRefreshToken, PortalUser, ServiceSecret, Workspace

AUDIENCE = "crm-portal"
_ALGORITHM = "HS256"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crm-portal"'}
_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
# Verified against when no account matches, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A portal access token from `/v1/portal/sign-in` (15 minutes).",
}


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not there is a stored hash."""

    def verify() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def new_opaque_token() -> tuple[str, bytes]:
    """A token to hand out once, and the hash stored in its place."""
    token = secrets.token_urlsafe(32)
    return token, hash_opaque(token)


def hash_opaque(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


PORTAL_KEY_NAME = "portal_jwt"
# The stored key per database engine, read once: it does not change while the service runs.
_stored_keys: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


async def signing_key(session: AsyncSession, settings: Settings) -> str:
    """``CRM_PORTAL_JWT_SECRET`` when set; otherwise the key generated with the schema and kept
    in ``service_secrets``, so a token from one worker, replica or run is good on every other."""
    if settings.portal_jwt_secret is not None:
        return settings.portal_jwt_secret.get_secret_value()
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    key = _stored_keys.get(engine)
    if key is None:
        key = await session.scalar(
            select(ServiceSecret.value).where(ServiceSecret.name == PORTAL_KEY_NAME)
        )
        if key is None:
            raise RuntimeError("service_secrets has no portal key: run `crm-api migrate`.")
        _stored_keys[engine] = key
    return key


def issue_access_token(
    key: str, settings: Settings, user: PortalUser, now: datetime, session_id: uuid.UUID
) -> str:
    """``sid`` names the sign-in (its refresh tokens' family): each request checks it is live."""
    claims = {
        "iss": "crm-api",
        "aud": AUDIENCE,
        "typ": "portal",
        "sub": str(user.id),
        "ws": str(user.workspace_id),
        "sid": str(session_id),
        "iat": now,
        "exp": now + timedelta(minutes=settings.portal_access_token_minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def _claims(key: str, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[_ALGORITHM],
            audience=AUDIENCE,
            issuer="crm-api",
            options={"require": ["exp", "iat", "sub", "aud", "iss", "sid"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized(
            "The access token has expired; refresh it.", headers=_CHALLENGE
        ) from None
    except jwt.PyJWTError:
        raise Unauthorized("The access token is not valid.", headers=_CHALLENGE) from None
    if claims.get("typ") != "portal":
        raise Unauthorized("The access token is not valid.", headers=_CHALLENGE)
    return claims


@dataclass(frozen=True, slots=True)
class Customer:
    """The signed-in customer: their portal account, contact, and what they may see."""

    workspace_id: uuid.UUID
    user_id: uuid.UUID
    contact_id: uuid.UUID
    company_id: uuid.UUID | None
    company_sharing: bool
    session_id: uuid.UUID  # the sign-in this access token belongs to

    @property
    def principal(self) -> Principal:
        """Who their writes are recorded as, in events and histories."""
        return Principal(
            workspace_id=self.workspace_id,
            actor_id=self.user_id,
            scopes=frozenset(),
            actor_type="portal_user",
        )

    @property
    def shares_company(self) -> bool:
        return self.company_sharing and self.company_id is not None


async def authenticate_customer(request: Request) -> Customer:
    customer: Customer | None = getattr(request.state, "customer", None)
    if customer is not None:
        return customer
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "Send a portal access token as `Authorization: Bearer <token>`.", headers=_CHALLENGE
        )
    session = request.state.session
    claims = _claims(await signing_key(session, request.app.state.settings), token.strip())
    try:
        user_id, workspace_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["ws"])
        session_id = uuid.UUID(claims["sid"])
    except (KeyError, ValueError, TypeError):
        raise Unauthorized("The access token is not valid.", headers=_CHALLENGE) from None
    row = (
        await session.execute(
            select(PortalUser.contact_id, Contact.company_id, Workspace.portal_company_sharing)
            .join(
                Contact,
                (Contact.workspace_id == PortalUser.workspace_id)
                & (Contact.id == PortalUser.contact_id),
            )
            .join(Workspace, Workspace.id == PortalUser.workspace_id)
            .where(
                PortalUser.workspace_id == workspace_id,
                PortalUser.id == user_id,
                PortalUser.status == "active",
                Contact.archived_at.is_(None),
                # The sign-in is live: signing out, a reused refresh token, a password change
                # elsewhere or a disabled account revoke it, and its tokens stop here at once.
                exists().where(
                    PortalRefreshToken.workspace_id == workspace_id,
                    PortalRefreshToken.family_id == session_id,
                    PortalRefreshToken.portal_user_id == user_id,
                    PortalRefreshToken.revoked_at.is_(None),
                    PortalRefreshToken.expires_at > func.now(),
                ),
            )
        )
    ).one_or_none()
    if row is None:
        raise Unauthorized(
            "The portal account is disabled or gone, or this sign-in has ended.",
            headers=_CHALLENGE,
        )
    customer = Customer(workspace_id, user_id, row[0], row[1], row[2], session_id)
    # Each portal account has a rate limit of its own, as each API key does.
    request.state.quota = await request.app.state.portal_rate_limiter.check(
        "portal_user", user_id.hex
    )
    request.state.customer = customer
    return customer


CustomerDep = Annotated[Customer, Depends(authenticate_customer)]
