import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal, key_cache, new_secret
from crm_api.core.errors import NotFound
from crm_api.core.events import record_event
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.models import ApiKey
from crm_api.models.base import utcnow

from . import repository
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyListParams, ApiKeyRead


async def issue_api_key(
    session: AsyncSession, workspace_id: uuid.UUID, data: ApiKeyCreate
) -> ApiKeyCreated:
    """Create a key and return it with its secret, the only time the secret is seen."""
    key_id = new_id()
    secret = new_secret(workspace_id, key_id)
    api_key = ApiKey(
        workspace_id=workspace_id,
        id=key_id,
        name=data.name,
        scopes=sorted(set(data.scopes)),
        secret_hash=secret.hash,
        secret_hint=secret.hint,
        expires_at=data.expires_at,
        member_id=data.member_id,
        created_at=utcnow(),
    )
    session.add(api_key)
    await session.flush()
    return ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), secret=secret.token)


async def create_api_key(
    session: AsyncSession, principal: Principal, data: ApiKeyCreate
) -> ApiKeyCreated:
    created = await issue_api_key(session, principal.workspace_id, data)
    # The event shows the key as any reader of it may see it: without its secret.
    shown = ApiKeyRead.model_validate(created.model_dump(exclude={"secret"}))
    record_event(session, principal, "api_key.created", created.id, shown)
    return created


async def get_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> ApiKey:
    api_key = await repository.get_api_key(session, principal.workspace_id, key_id)
    if api_key is None:
        raise NotFound(f"No API key {key_id}.")
    return api_key


async def list_api_keys(
    session: AsyncSession, principal: Principal, params: ApiKeyListParams
) -> tuple[list[ApiKey], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_api_keys(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: uuid.UUID) -> None:
    api_key = await repository.get_api_key(session, principal.workspace_id, key_id, for_update=True)
    if api_key is None:
        raise NotFound(f"No API key {key_id}.")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        await session.flush()
        record_event(
            session, principal, "api_key.revoked", api_key.id, ApiKeyRead.model_validate(api_key)
        )
    key_cache.evict((principal.workspace_id, key_id))
