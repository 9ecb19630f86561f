import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import StoredKey
from crm_api.core.pagination import Sort, paginate
from crm_api.models import ApiKey

from .schemas import ApiKeyListParams

SORTABLE = {"created_at": ApiKey.created_at}


async def load_stored_key(
    session: AsyncSession, workspace_id: uuid.UUID, key_id: uuid.UUID
) -> StoredKey | None:
    row = (
        await session.execute(
            select(ApiKey.secret_hash, ApiKey.scopes, ApiKey.expires_at, ApiKey.member_id).where(
                ApiKey.workspace_id == workspace_id,
                ApiKey.id == key_id,
                ApiKey.revoked_at.is_(None),
            )
        )
    ).first()
    if row is None:
        return None
    return StoredKey(
        hash=row.secret_hash,
        scopes=frozenset(row.scopes),
        expires_at=row.expires_at,
        member_id=row.member_id,
    )


async def get_api_key(
    session: AsyncSession, workspace_id: uuid.UUID, key_id: uuid.UUID, *, for_update: bool = False
) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.id == key_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_api_keys(
    session: AsyncSession, workspace_id: uuid.UUID, params: ApiKeyListParams, sort: Sort
) -> Sequence[ApiKey]:
    statement = select(ApiKey).where(ApiKey.workspace_id == workspace_id)
    if params.revoked is not None:
        statement = statement.where(
            ApiKey.revoked_at.is_not(None) if params.revoked else ApiKey.revoked_at.is_(None)
        )
    return (await session.scalars(paginate(statement, ApiKey.id, sort, params))).all()
