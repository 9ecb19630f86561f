"""Changes that reach many records at once (a purged company's references, a deleted custom
field's values), made record by record so that each gets its new version and its own
`<resource>.updated` event, like any other change."""

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.events import record_update
from crm_api.core.records import touch


async def _read(session: AsyncSession, resource: str, record: Any) -> BaseModel:
    # The readers live with their domains, which import this module's callers.
    if resource == "deal":
        from crm_api.deals.service import read_deal

        return await read_deal(session, record)
    if resource == "company":
        from crm_api.companies.schemas import CompanyRead

        return CompanyRead.of(record)
    if resource == "contact":
        from crm_api.contacts.schemas import ContactRead

        return ContactRead.model_validate(record)
    if resource == "ticket":
        from crm_api.tickets.schemas import TicketRead

        return TicketRead.model_validate(record)
    if resource == "interaction":
        from crm_api.interactions.schemas import InteractionRead

        return InteractionRead.model_validate(record)
    from crm_api.tasks.schemas import TaskRead

    return TaskRead.model_validate(record)


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
