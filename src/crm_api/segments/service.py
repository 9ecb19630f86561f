import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

from asyncpg import Record
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts.schemas import ContactListParams
from crm_api.contacts.service import count_contacts, list_contacts
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import CRMError, ValidationFailed, field_error, in_our_words
from crm_api.core.events import record_event, record_update
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, paginate, parse_sort
from crm_api.core.records import apply_changes, get_owned, sent_values, touch, unique_guard
from crm_api.models import Segment

from .schemas import (
    Filters,
    SegmentCreate,
    SegmentListParams,
    SegmentMembersParams,
    SegmentRead,
    SegmentUpdate,
)

PAGING = frozenset({"limit", "cursor", "sort"})


def _as_params(filters: Filters, paging: dict[str, Any] | None = None) -> ContactListParams:
    return ContactListParams.model_validate({**filters, **(paging or {})})


async def _checked(session: AsyncSession, principal: Principal, filters: Filters) -> Filters:
    """The filters, if the contacts list would take them; else a 422 naming each bad one."""
    paging = sorted(PAGING & filters.keys())
    if paging:
        raise ValidationFailed(
            "Paging and sorting are not part of a segment.",
            errors=[field_error(["body", "filters", key], "not a filter") for key in paging],
        )
    try:
        params = _as_params(filters)
        await count_contacts(session, principal, params)  # custom field filters are checked here
    except ValidationError as exc:
        errors = [
            field_error(
                ["body", "filters", *error["loc"]], in_our_words(dict(error)), error["type"]
            )
            for error in exc.errors()
        ]
        raise ValidationFailed("Some filters are not valid.", errors=errors) from exc
    except CRMError as exc:
        errors = [
            field_error(["body", "filters", *error.loc[1:]], error.msg, error.type)
            for error in exc.errors or ()
        ]
        raise ValidationFailed("Some filters are not valid.", errors=errors) from exc
    return filters


def _name_guard(
    session: AsyncSession, workspace_id: uuid.UUID, name: str
) -> AbstractAsyncContextManager[None]:
    async def existing() -> Segment | None:
        return await session.scalar(
            select(Segment).where(Segment.workspace_id == workspace_id, Segment.name == name)
        )

    return unique_guard(
        session, constraint="uq_segments_name", field="name", find_existing=existing
    )


async def create_segment(
    session: AsyncSession, principal: Principal, data: SegmentCreate
) -> Segment:
    filters = await _checked(session, principal, data.filters)
    segment = Segment(
        workspace_id=principal.workspace_id,
        id=new_id(),
        name=data.name,
        description=data.description,
        filters=filters,
    )
    async with _name_guard(session, principal.workspace_id, data.name):
        session.add(segment)
    record_event(
        session, principal, "segment.created", segment.id, SegmentRead.model_validate(segment)
    )
    return segment


async def get_segment(
    session: AsyncSession, principal: Principal, segment_id: uuid.UUID, *, for_update: bool = False
) -> Segment:
    return await get_owned(
        session, Segment, principal, segment_id, "segment", for_update=for_update
    )


async def list_segments(
    session: AsyncSession, principal: Principal, params: SegmentListParams
) -> tuple[list[Segment], str | None]:
    sort = parse_sort(params.sort, {"created_at": Segment.created_at})
    statement = select(Segment).where(Segment.workspace_id == principal.workspace_id)
    rows = (await session.scalars(paginate(statement, Segment.id, sort, params))).all()
    return page_of(rows, sort, params)


async def update_segment(
    session: AsyncSession,
    principal: Principal,
    segment_id: uuid.UUID,
    data: SegmentUpdate,
    if_match: IfMatch,
) -> Segment:
    segment = await get_segment(session, principal, segment_id, for_update=True)
    if_match.check(segment.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return segment
    if "filters" in changes:
        changes["filters"] = await _checked(session, principal, changes["filters"])
    before = SegmentRead.model_validate(segment).model_dump(mode="json")
    async with _name_guard(session, principal.workspace_id, data.name or segment.name):
        apply_changes(segment, changes, frozenset())
        touch(segment)
    after = SegmentRead.model_validate(segment)
    record_update(session, principal, "segment.updated", segment.id, before, after)
    return segment


async def delete_segment(
    session: AsyncSession, principal: Principal, segment_id: uuid.UUID, if_match: IfMatch
) -> None:
    segment = await get_segment(session, principal, segment_id, for_update=True)
    if_match.check(segment.version)
    read = SegmentRead.model_validate(segment)
    await session.delete(segment)
    await session.flush()
    record_event(session, principal, "segment.deleted", segment.id, read)


async def members(
    session: AsyncSession,
    principal: Principal,
    segment_id: uuid.UUID,
    paging: SegmentMembersParams,
) -> tuple[list[Record], str | None]:
    """The contacts matching the segment now, a keyset page at a time."""
    segment = await get_segment(session, principal, segment_id)
    params = _as_params(segment.filters, paging.model_dump(exclude_none=True))
    return await list_contacts(session, principal, params)


async def member_count(session: AsyncSession, principal: Principal, segment_id: uuid.UUID) -> int:
    segment = await get_segment(session, principal, segment_id)
    return await count_contacts(session, principal, _as_params(segment.filters))
