import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import ReadSchema

RfmSegment = Literal[
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
]
Score = Literal[1, 2, 3, 4, 5]


class RfmRead(ReadSchema):
    contact_id: uuid.UUID
    last_order_at: datetime
    recency_days: int
    frequency: int = Field(description="Paid and fulfilled orders.")
    monetary: Decimal = Field(
        description="Their spend in `currency`: the currency of most of their orders (ties: the "
        "workspace's default), never a sum across currencies; M ranks them within it."
    )
    currency: str
    r_score: int = Field(description="Recency quintile, 5 the most recent.")
    f_score: int
    m_score: int
    segment: RfmSegment
    computed_at: datetime


class RfmListParams(ListParams):
    sort: Literal["monetary", "-monetary", "recency_days", "-recency_days"] = "-monetary"
    segment: list[RfmSegment] | None = None
    r_score: Score | None = None
    f_score: Score | None = None
    m_score: Score | None = None


class RfmComputed(ReadSchema):
    customers: int
    computed_at: datetime
