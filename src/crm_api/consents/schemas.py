import uuid
from datetime import datetime

from pydantic import Field

from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema

from .service import Purpose


class ConsentCreate(InputSchema):
    purpose: Purpose
    granted: bool = Field(description="true grants consent, false withdraws it.")
    source: str = Field(
        default="api", min_length=1, max_length=32, examples=["web_form", "phone_call"]
    )
    proof: str | None = Field(
        default=None,
        max_length=10_000,
        description="What the contact agreed to and how: the form text, a call reference.",
    )
    recorded_at: IsoDateTime | None = Field(
        default=None, description="When it was given or withdrawn; defaults to now."
    )


class ConsentRead(ReadSchema):
    id: uuid.UUID
    contact_id: uuid.UUID
    purpose: Purpose
    granted: bool
    source: str
    proof: str | None
    actor_type: str
    actor_id: uuid.UUID | None
    recorded_at: datetime


class ConsentOverview(ReadSchema):
    in_force: dict[str, ConsentRead] = Field(
        description="Per purpose, the latest record; a purpose never recorded is absent "
        "(no consent)."
    )
    history: list[ConsentRead] = Field(description="Every record, oldest first.")
