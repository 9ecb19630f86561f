import uuid
from typing import Annotated, Any

from fastapi import Depends, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies import service as companies_service
from crm_api.core.auth import Principal, Scope, require
from crm_api.core.batch import BATCH_DESCRIPTION, BatchRequest, BatchResult, batch
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.members import service as members_service
from crm_api.pipelines import service as pipelines_service

from . import service
from .schemas import (
    DealCreate,
    DealExportRow,
    DealListParams,
    DealRead,
    DealUpdate,
    StageChangeRead,
    StageHistoryParams,
)

router = crm_router("/v1/deals", "Deals")
Reader = Annotated[Principal, Depends(require(Scope.deals_read))]
Writer = Annotated[Principal, Depends(require(Scope.deals_write))]
_CHANGE_ERRORS = problem_responses(404, 409, 412, 428)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a deal",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_deal(
    data: DealCreate, session: SessionDep, principal: Writer, response: Response
) -> DealRead:
    deal = await service.create_deal(session, principal, data)
    response.headers["Location"] = f"/v1/deals/{deal.id}"
    return deal


@router.get("", summary="List deals", openapi_extra=documented_params(DealListParams))
async def list_deals(
    params: Annotated[DealListParams, Depends(list_params(DealListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[DealRead]:
    deals, next_cursor = await service.list_deals(session, principal, params)
    return Page(data=deals, next_cursor=next_cursor)


@router.get("/{deal_id:uuid}", summary="Get a deal", responses=problem_responses(404))
async def get_deal(deal_id: uuid.UUID, session: SessionDep, principal: Reader) -> DealRead:
    return await service.get_deal(session, principal, deal_id)


@router.patch(
    "/{deal_id:uuid}",
    summary="Update a deal or move it to another stage",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_deal(
    deal_id: uuid.UUID,
    data: DealUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> DealRead:
    return await service.update_deal(session, principal, deal_id, data, if_match)


@router.post("/{deal_id:uuid}/archive", summary="Archive a deal", responses=_CHANGE_ERRORS)
async def archive_deal(
    deal_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> DealRead:
    deal = await service.archive_deal(session, principal, deal_id, if_match, archived=True)
    return deal


@router.post(
    "/{deal_id:uuid}/restore", summary="Restore an archived deal", responses=_CHANGE_ERRORS
)
async def restore_deal(
    deal_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> DealRead:
    deal = await service.archive_deal(session, principal, deal_id, if_match, archived=False)
    return deal


@router.delete(
    "/{deal_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an archived deal for good",
    description="Only an archived deal can be deleted (409 otherwise).",
    responses=_CHANGE_ERRORS,
)
async def delete_deal(
    deal_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_deal(session, principal, deal_id, if_match)


@router.get(
    "/{deal_id:uuid}/stage-history",
    summary="A deal's stage changes, oldest first",
    responses=problem_responses(404),
    openapi_extra=documented_params(StageHistoryParams),
)
async def get_stage_history(
    deal_id: uuid.UUID,
    params: Annotated[StageHistoryParams, Depends(list_params(StageHistoryParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[StageChangeRead]:
    rows, next_cursor = await service.stage_history(session, principal, deal_id, params)
    return Page(data=[StageChangeRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post(
    "/batch",
    summary="Create or update up to 100 deals",
    description=BATCH_DESCRIPTION + " Deals have no natural key: `upsert` is a 422.",
    responses=problem_responses(400, 413, 415),
)
async def batch_deals(
    data: BatchRequest, session: SessionDep, principal: Writer
) -> BatchResult[DealRead]:
    return await batch(
        session,
        data,
        lambda deal: deal,
        create=(DealCreate, lambda item: service.create_deal(session, principal, item)),
        update=(
            DealUpdate,
            lambda id_, item, check: service.update_deal(session, principal, id_, item, check),
        ),
        upsert=None,
    )


async def _deals_export(
    session: AsyncSession, principal: Principal, params: Any
) -> tuple[list[DealExportRow], str | None]:
    deals, cursor = await service.list_deals(session, principal, params)
    domains = await companies_service.domains_of(session, principal, (d.company_id for d in deals))
    emails = await members_service.emails_of(session, principal, (d.owner_id for d in deals))
    names = await pipelines_service.names_of(session, principal, (d.stage_id for d in deals))
    rows = []
    for deal in deals:
        pipeline_name, stage_name = names.get(deal.stage_id, (None, None))
        rows.append(
            DealExportRow.model_construct(
                **dict(deal),
                company_domain=domains.get(deal.company_id) if deal.company_id else None,
                owner_email=emails.get(deal.owner_id) if deal.owner_id else None,
                pipeline_name=pipeline_name,
                stage_name=stage_name,
            )
        )
    return rows, cursor


add_export_route(
    router,
    plural="deals",
    list_model=DealListParams,
    fetch=_deals_export,
    read=DealExportRow,
    reader=Reader,
    importable=True,
)
