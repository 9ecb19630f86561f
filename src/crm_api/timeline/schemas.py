import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import IsoDateTime, ReadSchema

EntryKind = Literal[
    "interaction", "deal_stage_change", "lifecycle_change", "task", "ticket_status_change"
]


class TimelineEntry(ReadSchema):
    kind: EntryKind
    id: uuid.UUID = Field(description="The id of the interaction, task or history row.")
    occurred_at: datetime
    data: dict[str, Any] = Field(description="What happened; its fields depend on the kind.")


class TimelineParams(ListParams):
    sort: Literal["-occurred_at"] = Field(default="-occurred_at", description="Newest first.")
    kind: list[EntryKind] | None = None
    occurred_at_gte: IsoDateTime | None = None
    occurred_at_lte: IsoDateTime | None = None
