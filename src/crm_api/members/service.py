import uuid
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound
from crm_api.core.events import record_event, record_update
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, sent_values, touch, unique_guard
from crm_api.models import Member

from . import repository
from .schemas import MemberCreate, MemberListParams, MemberRead, MemberUpdate


def _email_guard(
    session: AsyncSession, principal: Principal, email: str
) -> AbstractAsyncContextManager[None]:
    return unique_guard(
        session,
        constraint="uq_members_email",
        field="email",
        find_existing=lambda: repository.find_by_email(session, principal.workspace_id, email),
    )


async def create_member(session: AsyncSession, principal: Principal, data: MemberCreate) -> Member:
    member = Member(workspace_id=principal.workspace_id, **data.model_dump())
    async with _email_guard(session, principal, data.email):
        session.add(member)
    record_event(session, principal, "member.created", member.id, MemberRead.model_validate(member))
    return member


async def get_member(session: AsyncSession, principal: Principal, member_id: uuid.UUID) -> Member:
    member = await repository.get_member(session, principal.workspace_id, member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.")
    return member


async def _lock_member(session: AsyncSession, principal: Principal, member_id: uuid.UUID) -> Member:
    member = await repository.get_member(
        session, principal.workspace_id, member_id, for_update=True
    )
    if member is None:
        raise NotFound(f"No member {member_id}.")
    return member


async def list_members(
    session: AsyncSession, principal: Principal, params: MemberListParams
) -> tuple[list[Member], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_members(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def update_member(
    session: AsyncSession,
    principal: Principal,
    member_id: uuid.UUID,
    data: MemberUpdate,
    if_match: IfMatch,
) -> Member:
    member = await _lock_member(session, principal, member_id)
    if_match.check(member.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return member
    before = MemberRead.model_validate(member).model_dump(mode="json")
    async with _email_guard(session, principal, changes.get("email", member.email)):
        apply_changes(member, changes, frozenset())
        touch(member)
    after = MemberRead.model_validate(member)
    record_update(session, principal, "member.updated", member.id, before, after)
    return member


async def delete_member(
    session: AsyncSession, principal: Principal, member_id: uuid.UUID, if_match: IfMatch
) -> None:
    """Delete a member. One who still owns records is refused (409) until they are reassigned."""
    member = await _lock_member(session, principal, member_id)
    if_match.check(member.version)
    snapshot = MemberRead.model_validate(member)
    await session.delete(member)
    await session.flush()
    record_event(session, principal, "member.deleted", member_id, snapshot)


async def first_admin_id(session: AsyncSession, principal: Principal) -> uuid.UUID | None:
    """The workspace's first admin member: whom staff replies are attributed to when the API
    key acts for no member (a new workspace's owner)."""
    return await repository.first_admin_id(session, principal.workspace_id)


async def emails_of(
    session: AsyncSession, principal: Principal, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Each member's email: what names a member in any workspace (an export's link)."""
    wanted = sorted({member_id for member_id in ids if member_id is not None})
    return await repository.emails_of(session, principal.workspace_id, wanted) if wanted else {}
