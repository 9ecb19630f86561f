"""Events are rows written in the transaction of the change that causes them: a rolled-back change
has no event, a committed one always has one."""

import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.ids import new_id
from crm_api.models import Event


def record_event(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    resource_id: uuid.UUID,
    resource: BaseModel,
    previous: dict[str, Any] | None = None,
    *,
    event_id: uuid.UUID | None = None,
) -> None:
    session.add(
        Event(
            workspace_id=principal.workspace_id,
            id=event_id or new_id(),
            type=event_type,
            resource_type=event_type.split(".", 1)[0],
            resource_id=resource_id,
            data=resource.model_dump(mode="json"),
            previous=previous,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
        )
    )


def record_update(
    session: AsyncSession,
    principal: Principal,
    event_type: str,
    resource_id: uuid.UUID,
    before: dict[str, Any],
    after: BaseModel,
) -> None:
    """An update event: the resource as it is now, and the previous values of what changed."""
    previous = changed_fields(before, after.model_dump(mode="json"))
    record_event(session, principal, event_type, resource_id, after, previous)


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The previous values of the fields that differ, for an update event."""
    return {key: value for key, value in before.items() if after.get(key) != value}
