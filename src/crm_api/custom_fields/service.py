import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.cascade import update_each
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event, record_update
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, sent_values, touch, unique_guard
from crm_api.models import CustomFieldDefinition

from . import repository
from .schemas import (
    CustomFieldCreate,
    CustomFieldEntity,
    CustomFieldListParams,
    CustomFieldRead,
    CustomFieldUpdate,
)


async def create_field(
    session: AsyncSession, principal: Principal, data: CustomFieldCreate
) -> CustomFieldDefinition:
    # The fields as validated (entity as stored, "contact"), not as served ("contacts").
    definition = CustomFieldDefinition(workspace_id=principal.workspace_id, **dict(data))
    async with unique_guard(
        session,
        constraint="uq_custom_field_definitions_key",
        field="key",
        find_existing=lambda: repository.find_by_key(
            session, principal.workspace_id, data.entity, data.key
        ),
    ):
        session.add(definition)
    record_event(
        session,
        principal,
        "custom_field.created",
        definition.id,
        CustomFieldRead.model_validate(definition),
    )
    return definition


async def get_field(
    session: AsyncSession, principal: Principal, field_id: uuid.UUID, *, for_update: bool = False
) -> CustomFieldDefinition:
    definition = await repository.get_definition(
        session, principal.workspace_id, field_id, for_update=for_update
    )
    if definition is None:
        raise NotFound(f"No custom field {field_id}.")
    return definition


async def list_fields(
    session: AsyncSession, principal: Principal, params: CustomFieldListParams
) -> tuple[list[CustomFieldDefinition], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_definitions(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def update_field(
    session: AsyncSession,
    principal: Principal,
    field_id: uuid.UUID,
    data: CustomFieldUpdate,
    if_match: IfMatch,
) -> CustomFieldDefinition:
    """Label, options and required can change; key, entity and type are fixed once created."""
    definition = await get_field(session, principal, field_id, for_update=True)
    if_match.check(definition.version)
    changes = sent_values(data, frozenset())
    if "options" in changes and definition.field_type != "enum":
        raise invalid_field(["body", "options"], "only enum fields take options")
    if not changes:
        return definition
    before = CustomFieldRead.model_validate(definition).model_dump(mode="json")
    apply_changes(definition, changes, frozenset())
    touch(definition)
    await session.flush()
    after = CustomFieldRead.model_validate(definition)
    record_update(session, principal, "custom_field.updated", definition.id, before, after)
    return definition


async def delete_field(
    session: AsyncSession, principal: Principal, field_id: uuid.UUID, if_match: IfMatch
) -> None:
    """Delete a definition and, in the same transaction, its values on every record (each
    record gets its update event)."""
    definition = await get_field(session, principal, field_id, for_update=True)
    if_match.check(definition.version)
    snapshot = CustomFieldRead.model_validate(definition)
    key = definition.key

    def strip(record: Any) -> None:
        record.custom_fields = {
            name: value for name, value in record.custom_fields.items() if name != key
        }

    model = repository.RECORDS[definition.entity]
    await update_each(
        session, principal, definition.entity, model, model.custom_fields.has_key(key), strip
    )
    await session.delete(definition)
    await session.flush()
    record_event(session, principal, "custom_field.deleted", field_id, snapshot)


async def definitions_by_key(
    session: AsyncSession, workspace_id: uuid.UUID, entity: CustomFieldEntity
) -> dict[str, CustomFieldDefinition]:
    """The workspace's definitions for one kind of record, by key."""
    return await repository.definitions_by_key(session, workspace_id, entity)
