"""Reading the audit log: a page of entries matching a list's filters."""

from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.filters import in_range
from crm_api.core.pagination import page_of, parse_sort
from crm_api.models import AuditEntry

from . import repository
from .schemas import AuditEntryRead, AuditListParams


async def audit_page(
    session: AsyncSession, principal: Principal, params: AuditListParams
) -> tuple[list[AuditEntryRead], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions: list[ColumnElement[bool]] = in_range(
        AuditEntry.occurred_at, params.occurred_at_gte, params.occurred_at_lte
    )
    exact: tuple[tuple[Any, Any], ...] = (
        (AuditEntry.record_type, params.record_type),
        (AuditEntry.record_id, params.record_id),
        (AuditEntry.actor_id, params.actor_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    rows = await repository.list_entries(session, principal.workspace_id, conditions, params, sort)
    page, next_cursor = page_of(rows, sort, params)
    return [AuditEntryRead.model_validate(row) for row in page], next_cursor
