import uuid
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range, search_condition
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, sent_values, touch
from crm_api.models import Task
from crm_api.models.base import utcnow

from . import repository
from .schemas import TaskCreate, TaskListParams, TaskRead, TaskUpdate


async def create_task(session: AsyncSession, principal: Principal, data: TaskCreate) -> Task:
    task = Task(workspace_id=principal.workspace_id, status="open", **data.model_dump())
    session.add(task)
    await session.flush()
    record_event(session, principal, "task.created", task.id, TaskRead.model_validate(task))
    return task


async def get_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, *, for_update: bool = False
) -> Task:
    task = await repository.get_task(
        session, principal.workspace_id, task_id, for_update=for_update
    )
    if task is None:
        raise NotFound(f"No task {task_id}.")
    return task


async def list_tasks(
    session: AsyncSession, principal: Principal, params: TaskListParams
) -> tuple[list[Task], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions: list[ColumnElement[bool]] = [
        *in_range(Task.due_at, params.due_at_gte, params.due_at_lte)
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (Task.assignee_id, params.assignee_id),
        (Task.contact_id, params.contact_id),
        (Task.company_id, params.company_id),
        (Task.deal_id, params.deal_id),
        (Task.ticket_id, params.ticket_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    if params.status:
        conditions.append(Task.status.in_(params.status))
    if params.priority:
        conditions.append(Task.priority.in_(params.priority))
    if params.overdue is True:
        conditions += [Task.status == "open", Task.due_at < utcnow()]
    elif params.overdue is False:
        conditions.append(~((Task.status == "open") & (Task.due_at < utcnow())))
    if params.q is not None:
        conditions.append(search_condition(Task.search_text, params.q))
    rows = await repository.list_tasks(session, principal.workspace_id, conditions, params, sort)
    return page_of(rows, sort, params)


async def update_task(
    session: AsyncSession,
    principal: Principal,
    task_id: uuid.UUID,
    data: TaskUpdate,
    if_match: IfMatch,
) -> Task:
    task = await get_task(session, principal, task_id, for_update=True)
    if_match.check(task.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return task
    before = TaskRead.model_validate(task).model_dump(mode="json")
    if changes.get("status", task.status) != task.status:
        changes["completed_at"] = utcnow() if changes["status"] == "done" else None
    apply_changes(task, changes, frozenset())
    touch(task)
    await session.flush()
    after = TaskRead.model_validate(task)
    record_update(
        session,
        principal,
        "task.completed" if changes.get("status") == "done" else "task.updated",
        task.id,
        before,
        after,
    )
    return task


async def delete_task(
    session: AsyncSession, principal: Principal, task_id: uuid.UUID, if_match: IfMatch
) -> None:
    task = await get_task(session, principal, task_id, for_update=True)
    if_match.check(task.version)
    snapshot = TaskRead.model_validate(task)
    await session.delete(task)
    await session.flush()
    record_event(session, principal, "task.deleted", task_id, snapshot)
