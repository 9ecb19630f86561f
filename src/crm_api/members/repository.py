import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Member

from .schemas import MemberListParams

SORTABLE = {"created_at": Member.created_at, "name": Member.name}


async def get_member(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    member_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Member | None:
    statement = select(Member).where(Member.workspace_id == workspace_id, Member.id == member_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def find_by_email(
    session: AsyncSession, workspace_id: uuid.UUID, email: str
) -> Member | None:
    return await session.scalar(
        select(Member).where(
            Member.workspace_id == workspace_id, func.lower(Member.email) == email.lower()
        )
    )


async def first_admin_id(session: AsyncSession, workspace_id: uuid.UUID) -> uuid.UUID | None:
    return await session.scalar(
        select(Member.id)
        .where(Member.workspace_id == workspace_id, Member.role == "admin")
        .order_by(Member.created_at, Member.id)
        .limit(1)
    )


async def emails_of(
    session: AsyncSession, workspace_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(Member.id, Member.email).where(
            Member.workspace_id == workspace_id, Member.id.in_(ids)
        )
    )
    return {row.id: row.email for row in rows}


async def list_members(
    session: AsyncSession, workspace_id: uuid.UUID, params: MemberListParams, sort: Sort
) -> Sequence[Member]:
    statement = select(Member).where(Member.workspace_id == workspace_id)
    if params.role is not None:
        statement = statement.where(Member.role == params.role)
    if params.email is not None:
        statement = statement.where(func.lower(Member.email) == params.email.lower())
    return (await session.scalars(paginate(statement, Member.id, sort, params))).all()
