import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Task

from .schemas import TaskListParams

SORTABLE = {"created_at": Task.created_at}


async def get_task(
    session: AsyncSession, workspace_id: uuid.UUID, task_id: uuid.UUID, *, for_update: bool = False
) -> Task | None:
    statement = select(Task).where(Task.workspace_id == workspace_id, Task.id == task_id)
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_tasks(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    conditions: Sequence[ColumnElement[bool]],
    params: TaskListParams,
    sort: Sort,
) -> Sequence[Task]:
    statement = select(Task).where(Task.workspace_id == workspace_id, *conditions)
    return (await session.scalars(paginate(statement, Task.id, sort, params))).all()
