"""`GET /v1/audit-log`: every recorded change, who made it and what it changed."""

from typing import Annotated

from fastapi import Depends

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from .schemas import AuditEntryRead, AuditListParams
from .service import audit_page

router = crm_router("/v1/audit-log", "Audit log")
Reader = Annotated[Principal, Depends(require(Scope.audit_read))]


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
