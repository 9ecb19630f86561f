import uuid
from collections.abc import Sequence

from asyncpg import Record
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.db import PreparedQuery, fetch_rows
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Company

from .schemas import CompanyListParams

# Every column a response shows (search_text is an index's, never served).
COMPANY_COLUMNS = tuple(column for column in Company.__table__.c if column.name != "search_text")
READ_COMPANY = PreparedQuery(
    select(*COMPANY_COLUMNS).where(
        Company.workspace_id == bindparam("workspace_id"), Company.id == bindparam("id")
    )
)

SORTABLE = {
    "created_at": Company.created_at,
    "updated_at": Company.updated_at,
    "name": Company.name,
}


async def get_company(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    company_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Company | None:
    statement = select(Company).where(
        Company.workspace_id == workspace_id, Company.id == company_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def find_by_domain(
    session: AsyncSession, workspace_id: uuid.UUID, domain: str
) -> Company | None:
    return await session.scalar(
        select(Company).where(Company.workspace_id == workspace_id, Company.domain == domain)
    )


async def domains_of(
    session: AsyncSession, workspace_id: uuid.UUID, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, str | None]:
    rows = await session.execute(
        select(Company.id, Company.domain).where(
            Company.workspace_id == workspace_id, Company.id.in_(ids)
        )
    )
    return {row.id: row.domain for row in rows}


async def list_companies(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: CompanyListParams,
    sort: Sort,
) -> list[Record]:
    """Rows of the columns a response shows (as READ_COMPANY reads one), not ORM objects."""
    statement = select(*COMPANY_COLUMNS).where(Company.workspace_id == workspace_id, *conditions)
    return await fetch_rows(session, paginate(statement, Company.id, sort, params))


def ids_matching(workspace_id: uuid.UUID, *conditions: ColumnElement[bool]) -> Select[uuid.UUID]:
    """A subquery of company ids, for filtering other records by their company's fields."""
    return select(Company.id).where(Company.workspace_id == workspace_id, *conditions)
