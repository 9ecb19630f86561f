import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Interaction

from .schemas import InteractionListParams

SORTABLE = {"occurred_at": Interaction.occurred_at, "created_at": Interaction.created_at}


async def get_interaction(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    interaction_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Interaction | None:
    statement = select(Interaction).where(
        Interaction.workspace_id == workspace_id, Interaction.id == interaction_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_interactions(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: InteractionListParams,
    sort: Sort,
) -> Sequence[Interaction]:
    statement = select(Interaction).where(Interaction.workspace_id == workspace_id, *conditions)
    return (await session.scalars(paginate(statement, Interaction.id, sort, params))).all()
