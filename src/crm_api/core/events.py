"""Events are rows written in the transaction of the change that causes them: a rolled-back change
has no event, a committed one always has one."""

import functools
import uuid
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import SHOWN_ONCE, Principal
from crm_api.core.ids import new_id
from crm_api.models import AuditEntry, Event
from crm_api.models.base import utcnow


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
    data = resource.model_dump(mode="json")
    if not SHOWN_ONCE.isdisjoint(data):
        # A secret shown once to its creator would reach every events:read key and webhook.
        raise TypeError(f"{type(resource).__name__} carries a secret; events must not.")
    now = utcnow()
    resource_type = event_type.split(".", 1)[0]
    event = Event(
        workspace_id=principal.workspace_id,
        id=event_id or new_id(),
        type=event_type,
        resource_type=resource_type,
        resource_id=resource_id,
        data=data,
        previous=previous,
        actor_type=principal.actor_type,
        actor_id=principal.actor_id,
        occurred_at=now,
    )
    session.add(event)
    session.add(
        AuditEntry(
            workspace_id=principal.workspace_id,
            id=new_id(),
            occurred_at=now,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
            action=event_type,
            record_type=resource_type,
            record_id=resource_id,
            changes=audited_changes(event_type, data, previous),
        )
    )


# Fields whose values never reach the audit log, wherever they appear.
SECRET_PARTS = ("secret", "password", "token", "hash")


@functools.lru_cache(maxsize=4096)
def is_secret(field: str) -> bool:
    lowered = field.lower()
    return any(part in lowered for part in SECRET_PARTS)


def _redacted(field: str, value: Any) -> Any:
    if is_secret(field):
        return "[redacted]"
    if isinstance(value, dict):
        return {key: _redacted(key, inner) for key, inner in value.items()}
    return value


def audited_changes(
    event_type: str, data: dict[str, Any], previous: dict[str, Any] | None
) -> dict[str, Any]:
    """{field: {"old": ..., "new": ...}}: what an update changed, everything a creation set,
    everything a deletion removed; secrets redacted."""
    if previous is not None:
        pairs = {field: (old, data.get(field)) for field, old in previous.items()}
    elif event_type.endswith(".created"):
        pairs = {field: (None, new) for field, new in data.items()}
    elif event_type.endswith(".deleted"):
        pairs = {field: (old, None) for field, old in data.items()}
    else:
        pairs = {}
    return {
        field: {"old": _redacted(field, old), "new": _redacted(field, new)}
        for field, (old, new) in pairs.items()
        if field not in {"updated_at", "version"}
    }


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
