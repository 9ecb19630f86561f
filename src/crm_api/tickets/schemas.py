import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema, Tags, not_null

TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "phone", "chat", "portal", "api"]


class TicketCreate(InputSchema):
    subject: str = Field(min_length=1, max_length=500, examples=["Invoice shows the wrong VAT"])
    description: str | None = Field(default=None, max_length=100_000)
    requester_id: uuid.UUID = Field(description="The contact who asks.")
    company_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority = "normal"
    channel: Channel = "api"
    tags: Tags = Field(default_factory=list)


class TicketUpdate(InputSchema):
    """`status` moves the ticket through its workflow; a move it does not allow is a 409."""

    subject: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    company_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority | SkipJsonSchema[None] = None
    status: TicketStatus | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None

    _not_null = not_null("subject", "priority", "status", "tags")


class TicketRead(ReadSchema):
    id: uuid.UUID
    subject: str
    description: str | None
    requester_id: uuid.UUID
    company_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    priority: Priority
    channel: Channel
    status: TicketStatus
    tags: list[str]
    status_changed_at: datetime
    first_responded_at: datetime | None = Field(description="When a member first replied publicly.")
    solved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class MessageCreate(InputSchema):
    body: str = Field(min_length=1, max_length=100_000)
    visibility: Literal["public", "internal"] = Field(
        default="public", description="Internal notes are never shown to the requester."
    )
    author_member_id: uuid.UUID | None = Field(
        default=None, description="The member writing; leave out when the requester writes."
    )


class MessageRead(ReadSchema):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visibility: Literal["public", "internal"]
    author_type: Literal["member", "requester"]
    author_member_id: uuid.UUID | None
    body: str
    created_at: datetime


class TicketListParams(ListParams):
    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-created_at"
    archived: bool = False
    status: list[TicketStatus] | None = None
    priority: list[Priority] | None = None
    channel: list[Channel] | None = None
    requester_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    tags: list[str] | None = None
    created_at_gte: IsoDateTime | None = None
    created_at_lte: IsoDateTime | None = None


class MessageListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "created_at"
    visibility: Literal["public", "internal"] | None = None
