"""API keys: ``crm_<workspace id><key id><secret>``, checked by SHA-256 against the key's row.

Keys carry 256 bits of randomness, so a fast hash is right (a slow password hash buys nothing
here) and the check is one primary-key lookup. Verified keys are cached in-process for a few
seconds; a revocation evicts locally at once and elsewhere within the cache lifetime.
"""

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.errors import Forbidden, Unauthorized
from crm_api.core.rate_limit import Quota

TOKEN_PREFIX = "crm_"  # noqa: S105 - a prefix, not a secret
_HEX_UUID = 32


class Scope(StrEnum):
    admin = "admin"
    members_read = "members:read"
    members_write = "members:write"
    contacts_read = "contacts:read"
    contacts_write = "contacts:write"
    companies_read = "companies:read"
    companies_write = "companies:write"
    custom_fields_read = "custom_fields:read"
    custom_fields_write = "custom_fields:write"
    events_read = "events:read"
    deals_read = "deals:read"
    deals_write = "deals:write"
    pipelines_write = "pipelines:write"
    interactions_read = "interactions:read"
    interactions_write = "interactions:write"
    tasks_read = "tasks:read"
    tasks_write = "tasks:write"
    tickets_read = "tickets:read"
    tickets_write = "tickets:write"
    sla_policies_write = "sla_policies:write"
    surveys_read = "surveys:read"
    surveys_write = "surveys:write"
    workspace_write = "workspace:write"
    webhooks_read = "webhooks:read"
    webhooks_write = "webhooks:write"
    products_write = "products:write"
    orders_read = "orders:read"
    orders_write = "orders:write"
    kpis_read = "kpis:read"
    lead_scoring_write = "lead_scoring:write"
    portal_read = "portal:read"
    audit_read = "audit:read"
    privacy_write = "privacy:write"
    portal_write = "portal:write"


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: uuid.UUID
    actor_id: uuid.UUID | None
    scopes: frozenset[str]
    actor_type: str = "api_key"
    # The key's rate limit as this request left it, for the RateLimit headers (core.rate_limit).
    quota: Quota | None = field(default=None, compare=False)
    # The member an API key acts for, if any (their voice on tickets).
    member_id: uuid.UUID | None = None

    @classmethod
    def system(cls, workspace_id: uuid.UUID) -> "Principal":
        """The service itself, acting on its own (the SLA breach sweep, for one)."""
        return cls(
            workspace_id=workspace_id, actor_id=None, scopes=frozenset(), actor_type="system"
        )

    def require(self, scope: Scope) -> None:
        if Scope.admin not in self.scopes and scope not in self.scopes:
            raise Forbidden(f"This API key lacks the '{scope}' scope.", missing_scope=scope.value)


# Fields whose value is a secret shown once to its creator (an API key, a webhook signing secret,
# a portal token): never kept in an event, an audit entry or a replayable response.
SHOWN_ONCE = frozenset({"secret", "token", "access_token", "refresh_token", "password"})


@dataclass(frozen=True, slots=True)
class NewSecret:
    token: str
    hash: bytes
    hint: str


@dataclass(frozen=True, slots=True)
class StoredKey:
    hash: bytes
    scopes: frozenset[str]
    expires_at: datetime | None
    member_id: uuid.UUID | None = None


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_secret(workspace_id: uuid.UUID, key_id: uuid.UUID) -> NewSecret:
    token = f"{TOKEN_PREFIX}{workspace_id.hex}{key_id.hex}{secrets.token_urlsafe(32)}"
    return NewSecret(token=token, hash=hash_token(token), hint=token[-4:])


def parse_token(token: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    body = token.removeprefix(TOKEN_PREFIX)
    if body == token or len(body) <= 2 * _HEX_UUID:
        return None
    try:
        return uuid.UUID(hex=body[:_HEX_UUID]), uuid.UUID(hex=body[_HEX_UUID : 2 * _HEX_UUID])
    except ValueError:
        return None


class KeyCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, StoredKey]] = {}

    def get(self, ident: tuple[uuid.UUID, uuid.UUID]) -> StoredKey | None:
        entry = self._entries.get(ident)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, ident: tuple[uuid.UUID, uuid.UUID], key: StoredKey, ttl: float) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[ident] = (time.monotonic() + ttl, key)

    def evict(self, ident: tuple[uuid.UUID, uuid.UUID]) -> None:
        self._entries.pop(ident, None)


key_cache = KeyCache()
SECURITY_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key of the workspace: `Authorization: Bearer crm_...`.",
}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="crm-api"'}


async def authenticate(request: Request) -> Principal:
    """The caller, from its API key; worked out once per request (every request needs it, so it
    is a single plain dependency: each one FastAPI solves costs time on the hottest path)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        principal = await _principal_of(request)
        request.state.principal = principal
        request.state.quota = principal.quota
    return principal


# Reads a key from the database: the api_keys domain's repository, which create_app sets as
# ``app.state.load_stored_key`` (core depends on no domain).
StoredKeyLoader = Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[StoredKey | None]]


async def _principal_of(request: Request) -> Principal:
    load_stored_key: StoredKeyLoader = request.app.state.load_stored_key

    async def load(workspace_id: uuid.UUID, key_id: uuid.UUID) -> StoredKey | None:
        return await load_stored_key(request.state.session, workspace_id, key_id)

    return await principal_from(request.headers.get("authorization", ""), request.app, load)


KeyLoader = Callable[[uuid.UUID, uuid.UUID], Awaitable[StoredKey | None]]


async def principal_from(authorization: str, app: Any, load: KeyLoader) -> Principal:
    """The caller named by an ``Authorization`` header; ``load`` reads a key the cache lacks."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send an API key as `Authorization: Bearer <key>`.", headers=_CHALLENGE)
    token = token.strip()
    ident = parse_token(token)
    if ident is None:
        raise Unauthorized("The API key is malformed.", headers=_CHALLENGE)
    stored = key_cache.get(ident)
    if stored is None:
        stored = await load(*ident)
        if stored is not None:
            key_cache.put(ident, stored, app.state.settings.api_key_cache_seconds)
    if stored is None or not hmac.compare_digest(stored.hash, hash_token(token)):
        raise Unauthorized("The API key is invalid or revoked.", headers=_CHALLENGE)
    if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):
        raise Unauthorized("The API key has expired.", headers=_CHALLENGE)
    quota = await app.state.rate_limiter.check("api_key", ident[1].hex)
    return Principal(
        workspace_id=ident[0],
        actor_id=ident[1],
        scopes=stored.scopes,
        quota=quota,
        member_id=stored.member_id,
    )


PrincipalDep = Annotated[Principal, Depends(authenticate)]


def require(scope: Scope) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        principal.require(scope)
        return principal

    dependency.__name__ = f"require_{scope.name}"
    # Read by CRMRoute: an Idempotency-Key replay passes the same scope checks as the operation.
    dependency.required_scope = scope  # type: ignore[attr-defined]
    return dependency
