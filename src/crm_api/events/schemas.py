import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_api.core.pagination import ListParams, Page
from crm_api.core.schemas import IsoDateTime, ReadSchema


class EventRead(ReadSchema):
    id: uuid.UUID
    type: str = Field(examples=["contact.updated"])
    resource_type: str = Field(examples=["contact"])
    resource_id: uuid.UUID
    occurred_at: datetime
    data: dict[str, Any] = Field(
        description="The resource as the API returned it after the change."
    )
    previous: dict[str, Any] | None = Field(
        description="For updates, the previous values of the fields that changed."
    )
    actor_type: str
    actor_id: uuid.UUID | None


class EventPage(Page[EventRead]):
    next_cursor: str | None = Field(
        description="Oldest first: where to resume, on every page, the last one included (null "
        "only when nothing was ever served). Newest first: the next page's cursor, null on the "
        "last page."
    )
    has_more: bool = Field(description="Whether more events were ready when this page was read.")


class EventListParams(ListParams):
    sort: Literal["occurred_at", "-occurred_at"] = Field(
        default="occurred_at",
        description="Oldest first, for catching up: every event exactly once, in the order of "
        "its position, served once no earlier one can still appear. Or newest first, to browse.",
    )
    type: list[str] | None = Field(default=None, description="Event types, e.g. contact.created.")
    resource_type: str | None = None
    resource_id: uuid.UUID | None = None
    occurred_at_gte: IsoDateTime | None = None
    occurred_at_lte: IsoDateTime | None = None
