import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route, read_as
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import TaskCreate, TaskListParams, TaskRead, TaskUpdate

router = crm_router("/v1/tasks", "Tasks")
Reader = Annotated[Principal, Depends(require(Scope.tasks_read))]
Writer = Annotated[Principal, Depends(require(Scope.tasks_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a follow-up task",
    responses=problem_responses(400, 413, 415),
)
async def create_task(
    data: TaskCreate, session: SessionDep, principal: Writer, response: Response
) -> TaskRead:
    task = await service.create_task(session, principal, data)
    response.headers["Location"] = f"/v1/tasks/{task.id}"
    return TaskRead.model_validate(task)


@router.get(
    "",
    summary="List tasks",
    description="`?overdue=true&assignee_id=` lists a member's overdue tasks.",
    openapi_extra=documented_params(TaskListParams),
)
async def list_tasks(
    params: Annotated[TaskListParams, Depends(list_params(TaskListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[TaskRead]:
    rows, next_cursor = await service.list_tasks(session, principal, params)
    return Page(data=[TaskRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/{task_id:uuid}", summary="Get a task", responses=problem_responses(404))
async def get_task(task_id: uuid.UUID, session: SessionDep, principal: Reader) -> TaskRead:
    return TaskRead.model_validate(await service.get_task(session, principal, task_id))


@router.patch(
    "/{task_id:uuid}",
    summary="Update or complete a task",
    responses=problem_responses(400, 404, 412, 413, 415, 428),
)
async def update_task(
    task_id: uuid.UUID,
    data: TaskUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> TaskRead:
    task = await service.update_task(session, principal, task_id, data, if_match)
    return TaskRead.model_validate(task)


@router.delete(
    "/{task_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task",
    responses=problem_responses(404, 412, 428),
)
async def delete_task(
    task_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_task(session, principal, task_id, if_match)


add_export_route(
    router,
    plural="tasks",
    list_model=TaskListParams,
    fetch=read_as(service.list_tasks, TaskRead),
    read=TaskRead,
    reader=Reader,
)
