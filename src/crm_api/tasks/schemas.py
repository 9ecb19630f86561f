import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema, not_null

TaskStatus = Literal["open", "done", "cancelled"]
Priority = Literal["low", "normal", "high", "urgent"]


class _TaskFields(InputSchema):
    description: str | None = Field(default=None, max_length=20_000)
    due_at: IsoDateTime | None = None
    assignee_id: uuid.UUID | None = Field(default=None, description="The member to do it.")
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None


class TaskCreate(_TaskFields):
    title: str = Field(min_length=1, max_length=300, examples=["Send the proposal"])
    priority: Priority = "normal"


class TaskUpdate(_TaskFields):
    title: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=300)
    priority: Priority | SkipJsonSchema[None] = None
    status: TaskStatus | SkipJsonSchema[None] = Field(
        default=None, description="done sets completed_at; open clears it."
    )

    _not_null = not_null("title", "priority", "status")


class TaskRead(ReadSchema):
    id: uuid.UUID
    title: str
    description: str | None
    due_at: datetime | None
    assignee_id: uuid.UUID | None
    status: TaskStatus
    priority: Priority
    completed_at: datetime | None
    contact_id: uuid.UUID | None
    company_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    version: int


class TaskListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Search text: words of the title or the start of the description.",
    )
    status: list[TaskStatus] | None = None
    priority: list[Priority] | None = None
    assignee_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    deal_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    overdue: bool | None = Field(
        default=None, description="true: open tasks whose due time has passed."
    )
    due_at_gte: IsoDateTime | None = None
    due_at_lte: IsoDateTime | None = None
