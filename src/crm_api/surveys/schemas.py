import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema

_COMMENT = Field(default=None, max_length=10_000)


class CsatCreate(InputSchema):
    """The requester's rating of a solved (or closed) ticket; one per ticket."""

    kind: Literal["csat"]
    ticket_id: uuid.UUID
    score: int = Field(ge=1, le=5, description="1 (very unsatisfied) to 5 (very satisfied).")
    comment: str | None = _COMMENT
    responded_at: IsoDateTime | None = Field(default=None, description="Defaults to now.")


class NpsCreate(InputSchema):
    """How likely the contact is to recommend us; a contact can answer any number of times."""

    kind: Literal["nps"]
    contact_id: uuid.UUID
    score: int = Field(ge=0, le=10, description="0 (not at all likely) to 10 (extremely likely).")
    comment: str | None = _COMMENT
    responded_at: IsoDateTime | None = Field(default=None, description="Defaults to now.")


SurveyResponseCreate = Annotated[CsatCreate | NpsCreate, Field(discriminator="kind")]


class SurveyResponseRead(ReadSchema):
    id: uuid.UUID
    kind: Literal["csat", "nps"]
    contact_id: uuid.UUID
    ticket_id: uuid.UUID | None = Field(description="The rated ticket, for CSAT.")
    score: int
    comment: str | None
    responded_at: datetime
    created_at: datetime


class SurveyResponseListParams(ListParams):
    sort: Literal["responded_at", "-responded_at"] = "-responded_at"
    kind: Literal["csat", "nps"] | None = None
    contact_id: uuid.UUID | None = None
    ticket_id: uuid.UUID | None = None
    score_gte: int | None = Field(default=None, ge=0, le=10)
    score_lte: int | None = Field(default=None, ge=0, le=10)
    responded_at_gte: IsoDateTime | None = None
    responded_at_lte: IsoDateTime | None = None
