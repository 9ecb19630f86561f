"""The audit log's queries."""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import AuditEntry

from .schemas import AuditListParams

SORTABLE = {"occurred_at": AuditEntry.occurred_at}


async def list_entries(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: AuditListParams,
    sort: Sort,
) -> Sequence[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.workspace_id == workspace_id, *conditions)
    return (await session.scalars(paginate(statement, AuditEntry.id, sort, params))).all()
