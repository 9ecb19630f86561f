import uuid
from collections import defaultdict
from collections.abc import Sequence

from asyncpg import Record
from sqlalchemy import ColumnElement, Select, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.db import PreparedQuery, fetch_rows, json_array_of
from crm_api.core.pagination import Sort, paginate
from crm_api.models import Contact, Deal, DealContact, DealStageChange, PipelineStage

from .schemas import DealContactRead, DealListParams, StageHistoryParams

# GET /v1/deals/{id} in one round trip: the deal's columns and its contacts as a JSON array, in
# the order contacts_of gives them.
_LINKS = json_array_of(
    "contacts",
    {"contact_id": DealContact.contact_id, "role": DealContact.role},
    order_by=DealContact.contact_id,
    where=(DealContact.workspace_id == Deal.workspace_id, DealContact.deal_id == Deal.id),
    parent=Deal,
)
READ_DEAL = PreparedQuery(
    select(*Deal.__table__.c, _LINKS).where(
        Deal.workspace_id == bindparam("workspace_id"), Deal.id == bindparam("id")
    )
)

SORTABLE = {"created_at": Deal.created_at, "updated_at": Deal.updated_at}
HISTORY_SORTABLE = {"changed_at": DealStageChange.changed_at}


async def get_deal(
    session: AsyncSession, workspace_id: uuid.UUID, deal_id: uuid.UUID, *, for_update: bool = False
) -> Deal | None:
    statement = select(Deal).where(Deal.workspace_id == workspace_id, Deal.id == deal_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def deals_in_stage(
    session: AsyncSession, workspace_id: uuid.UUID, stage_id: uuid.UUID
) -> Sequence[Deal]:
    statement = (
        select(Deal)
        .where(Deal.workspace_id == workspace_id, Deal.stage_id == stage_id)
        .with_for_update()
    )
    return (await session.scalars(statement)).all()


async def list_deals(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: DealListParams,
    sort: Sort,
) -> list[Record]:
    """A page of deals as rows with their contacts (as READ_DEAL gives them), in one query."""
    statement = select(*Deal.__table__.c, _LINKS).where(
        Deal.workspace_id == workspace_id, *conditions
    )
    return await fetch_rows(session, paginate(statement, Deal.id, sort, params))


async def contacts_of(
    session: AsyncSession, workspace_id: uuid.UUID, deal_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DealContactRead]]:
    """The contacts of these deals, in one query."""
    rows = await session.execute(
        select(DealContact.deal_id, DealContact.contact_id, DealContact.role)
        .where(DealContact.workspace_id == workspace_id, DealContact.deal_id.in_(deal_ids))
        .order_by(DealContact.deal_id, DealContact.contact_id)
    )
    linked: dict[uuid.UUID, list[DealContactRead]] = defaultdict(list)
    for deal_id, contact_id, role in rows:
        linked[deal_id].append(DealContactRead(contact_id=contact_id, role=role))
    return linked


async def replace_contacts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    deal_id: uuid.UUID,
    links: dict[uuid.UUID, str | None],
) -> None:
    await session.execute(
        delete(DealContact).where(
            DealContact.workspace_id == workspace_id, DealContact.deal_id == deal_id
        )
    )
    session.add_all(
        DealContact(workspace_id=workspace_id, deal_id=deal_id, contact_id=contact_id, role=role)
        for contact_id, role in links.items()
    )


def contact_ids_of_deal(workspace_id: uuid.UUID, deal_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(DealContact.contact_id).where(
        DealContact.workspace_id == workspace_id, DealContact.deal_id == deal_id
    )


def deal_ids_with_contacts(
    workspace_id: uuid.UUID, *conditions: ColumnElement[bool]
) -> Select[uuid.UUID]:
    """Deals having a contact that matches ``conditions``."""
    return (
        select(DealContact.deal_id)
        .join(
            Contact,
            (Contact.workspace_id == DealContact.workspace_id)
            & (Contact.id == DealContact.contact_id),
        )
        .where(DealContact.workspace_id == workspace_id, *conditions)
    )


def stage_ids_of_kind(workspace_id: uuid.UUID, kinds: Sequence[str]) -> Select[uuid.UUID]:
    return select(PipelineStage.id).where(
        PipelineStage.workspace_id == workspace_id, PipelineStage.kind.in_(kinds)
    )


async def stage_history(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    deal_id: uuid.UUID,
    params: StageHistoryParams,
    sort: Sort,
) -> Sequence[DealStageChange]:
    statement = select(DealStageChange).where(
        DealStageChange.workspace_id == workspace_id, DealStageChange.deal_id == deal_id
    )
    return (await session.scalars(paginate(statement, DealStageChange.id, sort, params))).all()
