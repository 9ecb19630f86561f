import uuid
from collections.abc import Sequence

from asyncpg import Record
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    bindparam,
    func,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.db import PreparedQuery, fetch_rows
from crm_api.core.filters import search_condition
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Contact, LifecycleChange

from .schemas import ContactListParams, LifecycleHistoryParams

# Every column a response shows (search_text is an index's, never served).
CONTACT_COLUMNS = tuple(column for column in Contact.__table__.c if column.name != "search_text")
READ_CONTACT = PreparedQuery(
    select(*CONTACT_COLUMNS).where(
        Contact.workspace_id == bindparam("workspace_id"), Contact.id == bindparam("id")
    )
)

SORTABLE = {
    "created_at": Contact.created_at,
    "updated_at": Contact.updated_at,
    "last_name": Contact.last_name,
    "lead_score": Contact.lead_score,
}


async def get_contact(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Contact | None:
    statement = select(Contact).where(
        Contact.workspace_id == workspace_id, Contact.id == contact_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


def ids_named(workspace_id: uuid.UUID, q: str) -> Select[uuid.UUID]:
    """Contacts whose names or email match ``q`` (the trigram index of search_text)."""
    return select(Contact.id).where(
        Contact.workspace_id == workspace_id, search_condition(Contact.search_text, q)
    )


def ids_matching(
    workspace_id: uuid.UUID, q: str, company_ids: Select[uuid.UUID]
) -> CompoundSelect[uuid.UUID]:
    """Contacts whose names or email match ``q``, or whose company does.

    A union of two index-served sets: an OR of the two conditions would make PostgreSQL walk the
    whole sort index and filter a million rows instead.
    """
    return union_all(
        select(Contact.id).where(
            Contact.workspace_id == workspace_id, search_condition(Contact.search_text, q)
        ),
        select(Contact.id).where(
            Contact.workspace_id == workspace_id, Contact.company_id.in_(company_ids)
        ),
    )


async def find_by_email(
    session: AsyncSession, workspace_id: uuid.UUID, email: str, *, for_update: bool = False
) -> Contact | None:
    statement = select(Contact).where(
        Contact.workspace_id == workspace_id, func.lower(Contact.email) == email.lower()
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(statement)


async def list_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: ContactListParams,
    sort: Sort,
) -> list[Record]:
    """Rows, not ORM objects: a page is only read, and building objects cost more than SQL."""
    statement = select(*CONTACT_COLUMNS).where(Contact.workspace_id == workspace_id, *conditions)
    return await fetch_rows(session, paginate(statement, Contact.id, sort, params))


HISTORY_SORTABLE = {"changed_at": LifecycleChange.changed_at}


async def lifecycle_history(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    contact_id: uuid.UUID,
    params: LifecycleHistoryParams,
    sort: Sort,
) -> Sequence[LifecycleChange]:
    statement = select(LifecycleChange).where(
        LifecycleChange.workspace_id == workspace_id, LifecycleChange.contact_id == contact_id
    )
    return (await session.scalars(paginate(statement, LifecycleChange.id, sort, params))).all()
