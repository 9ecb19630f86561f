import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Company, Contact, CustomFieldDefinition, Deal, Ticket

from .schemas import CustomFieldEntity, CustomFieldListParams

SORTABLE = {"created_at": CustomFieldDefinition.created_at}
RECORDS: dict[str, type[Contact] | type[Company] | type[Deal] | type[Ticket]] = {
    "contact": Contact,
    "company": Company,
    "deal": Deal,
    "ticket": Ticket,
}


async def get_definition(
    session: AsyncSession, workspace_id: uuid.UUID, field_id: uuid.UUID, *, for_update: bool = False
) -> CustomFieldDefinition | None:
    statement = select(CustomFieldDefinition).where(
        CustomFieldDefinition.workspace_id == workspace_id, CustomFieldDefinition.id == field_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def find_by_key(
    session: AsyncSession, workspace_id: uuid.UUID, entity: str, key: str
) -> CustomFieldDefinition | None:
    return await session.scalar(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.workspace_id == workspace_id,
            CustomFieldDefinition.entity == entity,
            CustomFieldDefinition.key == key,
        )
    )


async def definitions_by_key(
    session: AsyncSession, workspace_id: uuid.UUID, entity: CustomFieldEntity
) -> dict[str, CustomFieldDefinition]:
    rows = await session.scalars(
        select(CustomFieldDefinition).where(
            CustomFieldDefinition.workspace_id == workspace_id,
            CustomFieldDefinition.entity == entity,
        )
    )
    return {row.key: row for row in rows}


async def list_definitions(
    session: AsyncSession, workspace_id: uuid.UUID, params: CustomFieldListParams, sort: Sort
) -> Sequence[CustomFieldDefinition]:
    statement = select(CustomFieldDefinition).where(
        CustomFieldDefinition.workspace_id == workspace_id
    )
    if params.entity is not None:
        statement = statement.where(CustomFieldDefinition.entity == params.entity)
    return (
        await session.scalars(paginate(statement, CustomFieldDefinition.id, sort, params))
    ).all()
