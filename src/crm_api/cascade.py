"""Changes that reach many records at once (a deleted company's references, a deleted custom
field's values), made record by record so that each gets its new version and its own
`<resource>.updated` event, like any other change.

It reads records of several domains (for their events) and is used by several, so it sits beside
them rather than in core/, which depends on no domain."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies.schemas import CompanyRead
from crm_api.contacts.schemas import ContactRead
from crm_api.core.auth import Principal
from crm_api.core.events import record_update
from crm_api.core.records import touch
from crm_api.deals.read import read_deal
from crm_api.interactions.schemas import InteractionRead
from crm_api.tasks.schemas import TaskRead
from crm_api.tickets.schemas import TicketRead

# How each record that a cascade may change reads (a deal and a company need more than their
# columns), for its update event.
_READS: dict[str, type[BaseModel]] = {
    "contact": ContactRead,
    "ticket": TicketRead,
    "interaction": InteractionRead,
    "task": TaskRead,
}


async def _read(session: AsyncSession, resource: str, record: Any) -> BaseModel:
    if resource == "deal":
        return await read_deal(session, record)
    if resource == "company":
        return CompanyRead.of(record)
    read = _READS[resource]
    return read.model_validate(record)


async def update_each(
    session: AsyncSession,
    principal: Principal,
    resource: str,
    model: Any,
    where: ColumnElement[bool],
    change: Callable[[Any], Awaitable[None] | None],
) -> int:
    """Lock the workspace's records of ``model`` matching ``where`` and apply ``change`` to each
    (which may also change rows that the record's read shows, a deal's contact links), with a
    new version and an update event. Returns how many changed."""
    records = (
        await session.scalars(
            select(model)
            .where(model.workspace_id == principal.workspace_id, where)
            .order_by(model.id)
            .with_for_update()
        )
    ).all()
    for record in records:
        before = (await _read(session, resource, record)).model_dump(mode="json")
        changed = change(record)
        if inspect.isawaitable(changed):
            await changed
        touch(record)
        await session.flush()
        after = await _read(session, resource, record)
        record_update(session, principal, f"{resource}.updated", record.id, before, after)
    return len(records)
