"""Archive, restore and delete: records users can lose by mistake are archived first and can come
back; deleting is a separate act, allowed only on an archived record. Each emits its event
(`<resource>.archived`, `.restored`, `.deleted`) in the same transaction."""

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Conflict
from crm_api.core.events import record_event
from crm_api.core.records import touch
from crm_api.models.base import utcnow

# How a record is shown in its events: a read model, built directly or by a query.
Snapshot = Callable[[Any], BaseModel | Awaitable[BaseModel]]


def set_archived(record: Any, archived: bool) -> bool:
    """Archive or restore; False when the record was already in that state."""
    if (record.archived_at is not None) == archived:
        return False
    record.archived_at = utcnow() if archived else None
    touch(record)
    return True


def ensure_live(record: Any) -> None:
    if record.archived_at is not None:
        raise Conflict("The record is archived; restore it before changing it.")


def ensure_archived(record: Any) -> None:
    if record.archived_at is None:
        raise Conflict("Only an archived record can be deleted; archive it first.")


async def _shown(snapshot: Snapshot, record: Any) -> BaseModel:
    shown = snapshot(record)
    return await shown if inspect.isawaitable(shown) else shown


_WHEN: TypeAdapter[datetime | None] = TypeAdapter(datetime | None)


async def change_archived(
    session: AsyncSession,
    principal: Principal,
    record: Any,
    if_match: IfMatch,
    *,
    archived: bool,
    resource: str,
    snapshot: Snapshot,
) -> None:
    """Archive (or restore) a locked record; nothing happens if it already is."""
    if_match.check(record.version)
    before = record.archived_at
    if set_archived(record, archived):
        await session.flush()
        event_type = f"{resource}.archived" if archived else f"{resource}.restored"
        previous = {"archived_at": _WHEN.dump_python(before, mode="json")}
        shown = await _shown(snapshot, record)
        record_event(session, principal, event_type, record.id, shown, previous)


async def delete_archived(
    session: AsyncSession,
    principal: Principal,
    record: Any,
    if_match: IfMatch,
    *,
    resource: str,
    snapshot: Snapshot,
) -> None:
    """Delete a locked, archived record for good."""
    if_match.check(record.version)
    ensure_archived(record)
    shown = await _shown(snapshot, record)
    await session.delete(record)
    await session.flush()
    record_event(session, principal, f"{resource}.deleted", record.id, shown)
