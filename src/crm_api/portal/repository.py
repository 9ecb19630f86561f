"""Portal accounts' and their tokens' queries."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import ListParams, Sort, paginate
from crm_api.models import PortalRefreshToken, PortalToken, PortalUser, Workspace

SORTABLE = {"created_at": PortalUser.created_at}


async def account_of_contact(
    session: AsyncSession, workspace_id: uuid.UUID, contact_id: uuid.UUID
) -> PortalUser | None:
    """The contact's account, locked."""
    return await session.scalar(
        select(PortalUser)
        .where(PortalUser.workspace_id == workspace_id, PortalUser.contact_id == contact_id)
        .with_for_update()
    )


async def account_by_email(
    session: AsyncSession, workspace_id: uuid.UUID, email: str
) -> PortalUser | None:
    """The account that signs in with this email, whatever its case (accounts keep their
    email as Python lower-cases it)."""
    return await session.scalar(
        select(PortalUser).where(
            PortalUser.workspace_id == workspace_id,
            func.lower(PortalUser.email) == email.lower(),
        )
    )


async def list_accounts(
    session: AsyncSession, workspace_id: uuid.UUID, params: ListParams, sort: Sort
) -> Sequence[PortalUser]:
    statement = select(PortalUser).where(PortalUser.workspace_id == workspace_id)
    return (await session.scalars(paginate(statement, PortalUser.id, sort, params))).all()


async def use_up_email_tokens(
    session: AsyncSession, workspace_id: uuid.UUID, user_id: uuid.UUID, now: datetime
) -> None:
    """The account's unused invitation and magic links stop working."""
    await session.execute(
        update(PortalToken)
        .where(
            PortalToken.workspace_id == workspace_id,
            PortalToken.portal_user_id == user_id,
            PortalToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def email_token(session: AsyncSession, token_hash: bytes) -> PortalToken | None:
    """An invitation or magic link by its hash, locked for using it up."""
    return await session.scalar(
        select(PortalToken).where(PortalToken.token_hash == token_hash).with_for_update()
    )


async def refresh_token(
    session: AsyncSession, token_hash: bytes, *, for_update: bool = False
) -> PortalRefreshToken | None:
    statement = select(PortalRefreshToken).where(PortalRefreshToken.token_hash == token_hash)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def revoke_refresh_tokens(
    session: AsyncSession, workspace_id: uuid.UUID, which: ColumnElement[bool], now: datetime
) -> None:
    """Revoke the live refresh tokens ``which`` names (an account's, or a sign-in's family)."""
    await session.execute(
        update(PortalRefreshToken)
        .where(
            PortalRefreshToken.workspace_id == workspace_id,
            which,
            PortalRefreshToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


async def workspace_name(session: AsyncSession, workspace_id: uuid.UUID) -> str | None:
    return await session.scalar(select(Workspace.name).where(Workspace.id == workspace_id))
