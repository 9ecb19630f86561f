import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import (
    CustomFieldValues,
    InputSchema,
    IsoDateTime,
    ReadSchema,
    Tags,
    not_null,
)
from crm_api.models import Ticket
from crm_api.models.base import utcnow

from . import sla

TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = Literal["email", "phone", "chat", "portal", "api"]
EscalationReason = Literal["negative_sentiment", "first_response_breached", "resolution_breached"]


class TicketCreate(InputSchema):
    subject: str = Field(min_length=1, max_length=500, examples=["Invoice shows the wrong VAT"])
    description: str | None = Field(default=None, max_length=100_000)
    requester_id: uuid.UUID = Field(description="The contact who asks.")
    company_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority = "normal"
    channel: Channel = "api"
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFieldValues = Field(default_factory=dict)
    sla_policy_id: uuid.UUID | None = Field(
        default=None, description="Leave out for the workspace's default SLA policy, if any."
    )


class TicketUpdate(InputSchema):
    """`status` moves the ticket through its workflow; a move it does not allow is a 409."""

    subject: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    company_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    priority: Priority | SkipJsonSchema[None] = None
    status: TicketStatus | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None
    custom_fields: CustomFieldValues | SkipJsonSchema[None] = Field(
        default=None, description="Merged into the current values; a key sent as null is removed."
    )
    sla_policy_id: uuid.UUID | None = Field(
        default=None, description="Another SLA policy, or null for none; clocks are re-evaluated."
    )

    _not_null = not_null("subject", "priority", "status", "tags", "custom_fields")


class SlaClockRead(ReadSchema):
    target_minutes: int
    state: Literal["running", "paused", "met"] = Field(
        description="Paused while pending on the customer, solved or closed."
    )
    due_at: datetime | None = Field(description="When the target runs out; set while running.")
    remaining_seconds: int = Field(
        description="Policy time left (business time for a business calendar); negative when "
        "overdue. Frozen while paused or met."
    )
    breached: bool
    breached_at: datetime | None


class TicketSlaRead(ReadSchema):
    policy_id: uuid.UUID
    first_response: SlaClockRead | None = Field(description="Null when the priority has none.")
    resolution: SlaClockRead | None


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
    custom_fields: dict[str, Any]
    sla_policy_id: uuid.UUID | None
    sla: TicketSlaRead | None = Field(description="The SLA clocks; null without a policy.")
    escalation_reason: EscalationReason | None = Field(description="Why it was last escalated.")
    escalated_at: datetime | None
    first_responded_at: datetime | None = Field(description="When a member first replied publicly.")
    solved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int

    @model_validator(mode="before")
    @classmethod
    def _with_sla(cls, data: Any) -> Any:
        if not isinstance(data, Ticket):
            return data
        fields = {name: getattr(data, name) for name in cls.model_fields if name != "sla"}
        return {**fields, "sla": sla.view(data, utcnow())}


class SlaBreachRead(TicketRead):
    """The ticket of a `ticket.sla_breached` event, and which of its targets was breached."""

    breached_target: Literal["first_response", "resolution"]


class MessageCreate(InputSchema):
    body: str = Field(min_length=1, max_length=100_000)
    visibility: Literal["public", "internal"] = Field(
        default="public", description="Internal notes are never shown to the requester."
    )
    author: Literal["member", "requester"] = Field(
        default="member",
        description="Whose voice: `member` (staff; a public reply stops the first-response "
        "clock) or `requester` (the customer's own words, e.g. an email you log for them).",
    )
    author_member_id: uuid.UUID | None = Field(
        default=None,
        description="The member writing, for `author: member`; left out, the API key's member, "
        "or else the workspace's owner (its first admin member).",
    )

    @model_validator(mode="after")
    def _one_voice(self) -> Self:
        if self.author == "requester" and self.author_member_id is not None:
            raise ValueError("author_member_id is for `author: member` only")
        return self


class MessageRead(ReadSchema):
    id: uuid.UUID
    ticket_id: uuid.UUID
    visibility: Literal["public", "internal"]
    author_type: Literal["member", "requester"]
    author_member_id: uuid.UUID | None
    body: str
    sentiment: Decimal | None = Field(
        description="For the requester's messages: -1 (negative) to 1 (positive)."
    )
    created_at: datetime


class TicketListParams(ListParams):
    """Besides these, ``custom_fields.<key>`` (and ``_gte``/``_lte`` for numbers and dates)."""

    model_config = ConfigDict(extra="allow")

    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Search text: words of the subject or the start of the description.",
    )

    sort: Literal[
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "sla_due_at",
        "-sla_due_at",
    ] = Field(
        default="-created_at",
        description="`sla_due_at` (the next SLA deadline not yet breached) lists only tickets "
        "with a running SLA clock, soonest first.",
    )
    archived: bool = False
    sla: Literal["breached", "at_risk"] | None = Field(
        default=None,
        description="`breached`: a target is breached. `at_risk`: the next deadline falls within "
        "`at_risk_within_minutes`.",
    )
    at_risk_within_minutes: int = Field(default=60, ge=1, le=10080)
    sla_policy_id: uuid.UUID | None = None
    sla_due_at_gte: IsoDateTime | None = None
    sla_due_at_lte: IsoDateTime | None = None
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
