"""`GET /v1/audit-log`: every recorded change, who made it and what it changed."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.export import add_export_route
from crm_api.core.filters import in_range
from crm_api.core.pagination import ListParams, Page, page_of, paginate, parse_sort
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.schemas import IsoDateTime, ReadSchema
from crm_api.core.session import SessionDep
from crm_api.models import AuditEntry

router = crm_router("/v1/audit-log", "Audit log")
Reader = Annotated[Principal, Depends(require(Scope.audit_read))]


class AuditEntryRead(ReadSchema):
    id: uuid.UUID
    occurred_at: datetime
    actor_type: Literal["api_key", "portal_user", "system"] = Field(
        description="An API key (a member's or an integration's), a portal user, or the "
        "service itself (SLA sweep, worker)."
    )
    actor_id: uuid.UUID | None
    action: str = Field(examples=["contact.updated"])
    record_type: str = Field(examples=["contact"])
    record_id: uuid.UUID
    changes: dict[str, Any] = Field(
        description='{field: {"old": ..., "new": ...}}; secrets are never shown.'
    )


class AuditListParams(ListParams):
    sort: Literal["occurred_at", "-occurred_at"] = "-occurred_at"
    record_type: str | None = Field(default=None, max_length=32)
    record_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    occurred_at_gte: IsoDateTime | None = None
    occurred_at_lte: IsoDateTime | None = None


async def audit_page(
    session: AsyncSession, principal: Principal, params: AuditListParams
) -> tuple[list[AuditEntryRead], str | None]:
    sort = parse_sort(params.sort, {"occurred_at": AuditEntry.occurred_at})
    statement = select(AuditEntry).where(
        AuditEntry.workspace_id == principal.workspace_id,
        *in_range(AuditEntry.occurred_at, params.occurred_at_gte, params.occurred_at_lte),
    )
    for column, value in (
        (AuditEntry.record_type, params.record_type),
        (AuditEntry.record_id, params.record_id),
        (AuditEntry.actor_id, params.actor_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    rows = (await session.scalars(paginate(statement, AuditEntry.id, sort, params))).all()
    page, next_cursor = page_of(rows, sort, params)
    return [AuditEntryRead.model_validate(row) for row in page], next_cursor


@router.get(
    "",
    summary="List the audit log",
    description="Newest first by default. Each filter has an index that serves it.",
    openapi_extra=documented_params(AuditListParams),
)
async def list_audit_log(
    params: Annotated[AuditListParams, Depends(list_params(AuditListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[AuditEntryRead]:
    data, next_cursor = await audit_page(session, principal, params)
    return Page(data=data, next_cursor=next_cursor)


add_export_route(
    router,
    plural="audit-log",
    list_model=AuditListParams,
    fetch=audit_page,
    read=AuditEntryRead,
    reader=Reader,
)
