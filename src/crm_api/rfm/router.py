from typing import Annotated

from fastapi import Depends

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import RfmComputed, RfmListParams, RfmRead

router = crm_router("/v1/rfm", "RFM")
Reader = Annotated[Principal, Depends(require(Scope.kpis_read))]
Writer = Annotated[Principal, Depends(require(Scope.orders_write))]


@router.get(
    "",
    summary="RFM scores and segments of the workspace's customers",
    description=service.__doc__ or "",
    openapi_extra=documented_params(RfmListParams),
)
async def list_rfm(
    principal: Reader,
    params: Annotated[RfmListParams, Depends(list_params(RfmListParams))],
    session: SessionDep,
) -> Page[RfmRead]:
    rows, next_cursor = await service.list_scores(session, principal, params)
    return Page(data=[RfmRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/compute",
    summary="Compute RFM scores now",
    description="The worker recomputes them after orders change; this does it at once.",
)
async def compute_rfm(principal: Writer, session: SessionDep) -> RfmComputed:
    customers, computed_at = await service.compute(session, principal.workspace_id)
    return RfmComputed(customers=customers, computed_at=computed_at)
