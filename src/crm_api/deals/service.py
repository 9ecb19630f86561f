import uuid
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies.service import company_ids_where
from crm_api.contacts.service import promote_to_customer
from crm_api.core.archive import change_archived, delete_archived, ensure_live
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, read_owned, sent_values, split_money, touch
from crm_api.custom_fields.values import filter_conditions, validated_values
from crm_api.models import Contact, Deal, DealContact, DealStageChange, PipelineStage
from crm_api.models.base import utcnow
from crm_api.pipelines.stages import entry_stage

from . import repository
from .read import read_deal
from .schemas import (
    DealContactLink,
    DealCreate,
    DealListParams,
    DealRead,
    DealUpdate,
    StageHistoryParams,
)

_STAGE_EVENTS = {"won": "deal.won", "lost": "deal.lost"}


async def _stage_for(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID | None,
    stage_id: uuid.UUID | None,
) -> PipelineStage:
    """The stage a deal goes to (see pipelines.stages.entry_stage)."""
    return await entry_stage(session, principal.workspace_id, pipeline_id, stage_id)


def _links(links: list[DealContactLink]) -> dict[uuid.UUID, str | None]:
    by_contact: dict[uuid.UUID, str | None] = {}
    for index, link in enumerate(links):
        if link.contact_id in by_contact:
            raise invalid_field(["body", "contacts", index, "contact_id"], "listed twice")
        by_contact[link.contact_id] = link.role
    return by_contact


def _money(changes: dict[str, Any]) -> dict[str, Any]:
    return split_money(changes, "amount", "currency")


def _enter_stage(
    session: AsyncSession, principal: Principal, deal: Deal, stage: PipelineStage, *, first: bool
) -> list[str]:
    """Move the deal into ``stage``, keep the history row, and say which events follow."""
    now = utcnow()
    session.add(
        DealStageChange(
            workspace_id=deal.workspace_id,
            deal_id=deal.id,
            from_stage_id=None if first else deal.stage_id,
            to_stage_id=stage.id,
            changed_at=now,
            seconds_in_previous_stage=(
                None if first else int((now - deal.stage_changed_at).total_seconds())
            ),
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
        )
    )
    deal.pipeline_id, deal.stage_id, deal.stage_changed_at = stage.pipeline_id, stage.id, now
    deal.closed_at = None if stage.kind == "open" else now
    closing = [_STAGE_EVENTS[stage.kind]] if stage.kind in _STAGE_EVENTS else []
    return closing if first else ["deal.stage_changed", *closing]


async def _after_stage_events(
    session: AsyncSession, principal: Principal, deal: Deal, event_types: list[str]
) -> None:
    if "deal.won" in event_types:
        contact_ids = await session.scalars(
            repository.contact_ids_of_deal(deal.workspace_id, deal.id)
        )
        await promote_to_customer(session, principal, list(contact_ids))
    read = await read_deal(session, deal)
    for event_type in event_types:
        record_event(session, principal, event_type, deal.id, read)


async def create_deal(session: AsyncSession, principal: Principal, data: DealCreate) -> DealRead:
    stage = await _stage_for(session, principal, data.pipeline_id, data.stage_id)
    links = _links(data.contacts)
    values = _money(
        data.model_dump(exclude={"contacts", "custom_fields", "pipeline_id", "stage_id"})
    )
    values["custom_fields"] = await validated_values(
        session, principal.workspace_id, "deal", None, data.custom_fields
    )
    # The id is set now: the stage history row written below refers to it before any flush.
    deal = Deal(workspace_id=principal.workspace_id, id=new_id(), **values)
    deal.stage_changed_at = utcnow()
    session.add(deal)
    event_types = _enter_stage(session, principal, deal, stage, first=True)
    await session.flush()
    await repository.replace_contacts(session, principal.workspace_id, deal.id, links)
    await session.flush()
    record_event(session, principal, "deal.created", deal.id, await read_deal(session, deal))
    await _after_stage_events(session, principal, deal, event_types)
    return await read_deal(session, deal)


async def _deal(
    session: AsyncSession, principal: Principal, deal_id: uuid.UUID, *, for_update: bool = False
) -> Deal:
    deal = await repository.get_deal(
        session, principal.workspace_id, deal_id, for_update=for_update
    )
    if deal is None:
        raise NotFound(f"No deal {deal_id}.")
    return deal


async def get_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> DealRead:
    """GET /v1/deals/{id}: the deal and its contacts in one prepared statement."""
    row = await read_owned(session, repository.READ_DEAL, principal, deal_id, "deal")
    return DealRead.of_row(row)


async def update_deal(
    session: AsyncSession,
    principal: Principal,
    deal_id: uuid.UUID,
    data: DealUpdate,
    if_match: IfMatch,
) -> DealRead:
    deal = await _deal(session, principal, deal_id, for_update=True)
    if_match.check(deal.version)
    ensure_live(deal)
    changes = sent_values(data, frozenset())
    if not changes:
        return await read_deal(session, deal)
    before = (await read_deal(session, deal)).model_dump(mode="json")
    event_types: list[str] = []
    pipeline_id, stage_id = changes.pop("pipeline_id", None), changes.pop("stage_id", None)
    if pipeline_id is not None and stage_id is None:
        raise invalid_field(["body", "stage_id"], "moving to another pipeline needs its stage")
    if stage_id is not None and stage_id != deal.stage_id:
        stage = await _stage_for(session, principal, pipeline_id or deal.pipeline_id, stage_id)
        event_types = _enter_stage(session, principal, deal, stage, first=False)
    if "contacts" in changes:
        links = _links([DealContactLink(**link) for link in changes.pop("contacts")])
        await repository.replace_contacts(session, principal.workspace_id, deal.id, links)
    if "custom_fields" in changes:
        changes["custom_fields"] = await validated_values(
            session, principal.workspace_id, "deal", deal.custom_fields, changes["custom_fields"]
        )
    apply_changes(deal, _money(changes), frozenset())
    touch(deal)
    await session.flush()
    after = await read_deal(session, deal)
    record_update(session, principal, "deal.updated", deal.id, before, after)
    await _after_stage_events(session, principal, deal, event_types)
    return await read_deal(session, deal)


async def move_stage_deals(
    session: AsyncSession, principal: Principal, source: PipelineStage, target: PipelineStage
) -> None:
    """Move every deal of ``source`` to ``target``, each with its history row and events."""
    for deal in await repository.deals_in_stage(session, principal.workspace_id, source.id):
        event_types = _enter_stage(session, principal, deal, target, first=False)
        touch(deal)
        await session.flush()
        await _after_stage_events(session, principal, deal, event_types)


def _conditions(principal: Principal, params: DealListParams) -> list[ColumnElement[bool]]:
    workspace_id = principal.workspace_id
    conditions: list[ColumnElement[bool]] = [
        Deal.archived_at.is_not(None) if params.archived else Deal.archived_at.is_(None),
        *in_range(Deal.created_at, params.created_at_gte, params.created_at_lte),
        *in_range(Deal.updated_at, params.updated_at_gte, params.updated_at_lte),
        *in_range(Deal.amount, params.amount_gte, params.amount_lte),
        *in_range(
            Deal.expected_close_date, params.expected_close_date_gte, params.expected_close_date_lte
        ),
        *in_range(Deal.closed_at, params.closed_at_gte, params.closed_at_lte),
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (Deal.pipeline_id, params.pipeline_id),
        (Deal.owner_id, params.owner_id),
        (Deal.company_id, params.company_id),
        (Deal.source, params.source),
        (Deal.currency, params.currency),
    )
    conditions += [column == value for column, value in exact if value is not None]
    if params.q is not None:
        conditions.append(Deal.name.icontains(params.q, autoescape=True))
    if params.tags:
        conditions.append(Deal.tags.contains(params.tags))
    if params.stage_id:
        conditions.append(Deal.stage_id.in_(params.stage_id))
    if params.stage_kind:
        conditions.append(
            Deal.stage_id.in_(repository.stage_ids_of_kind(workspace_id, params.stage_kind))
        )
    if params.contact_id is not None:
        conditions.append(
            Deal.id.in_(
                repository.deal_ids_with_contacts(
                    workspace_id, DealContact.contact_id == params.contact_id
                )
            )
        )
    if params.contact_lifecycle_stage:
        conditions.append(
            Deal.id.in_(
                repository.deal_ids_with_contacts(
                    workspace_id, Contact.lifecycle_stage.in_(params.contact_lifecycle_stage)
                )
            )
        )
    if params.company_industry is not None:
        conditions.append(
            Deal.company_id.in_(company_ids_where(workspace_id, industry=params.company_industry))
        )
    return conditions


async def list_deals(
    session: AsyncSession, principal: Principal, params: DealListParams
) -> tuple[list[DealRead], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions = _conditions(principal, params)
    conditions += await filter_conditions(
        session, principal.workspace_id, "deal", Deal.custom_fields, params.model_extra or {}
    )
    rows = await repository.list_deals(session, principal.workspace_id, conditions, params, sort)
    page, next_cursor = page_of(rows, sort, params)
    return [DealRead.of_row(dict(row)) for row in page], next_cursor


async def archive_deal(
    session: AsyncSession,
    principal: Principal,
    deal_id: uuid.UUID,
    if_match: IfMatch,
    *,
    archived: bool,
) -> DealRead:
    deal = await _deal(session, principal, deal_id, for_update=True)
    await change_archived(
        session,
        principal,
        deal,
        if_match,
        archived=archived,
        resource="deal",
        snapshot=lambda record: read_deal(session, record),
    )
    return await read_deal(session, deal)


async def delete_deal(
    session: AsyncSession, principal: Principal, deal_id: uuid.UUID, if_match: IfMatch
) -> None:
    deal = await _deal(session, principal, deal_id, for_update=True)
    await delete_archived(
        session,
        principal,
        deal,
        if_match,
        resource="deal",
        snapshot=lambda record: read_deal(session, record),
    )


async def stage_history(
    session: AsyncSession, principal: Principal, deal_id: uuid.UUID, params: StageHistoryParams
) -> tuple[list[DealStageChange], str | None]:
    await _deal(session, principal, deal_id)
    sort = parse_sort(params.sort, repository.HISTORY_SORTABLE)
    rows = await repository.stage_history(session, principal.workspace_id, deal_id, params, sort)
    return page_of(rows, sort, params)
