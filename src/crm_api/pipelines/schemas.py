import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictInt
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

StageKind = Literal["open", "won", "lost"]
Probability = StrictInt


class StageCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Qualified"])
    probability: Probability = Field(ge=0, le=100, description="Win probability, 0 to 100.")
    kind: StageKind = "open"
    position: StrictInt | None = Field(
        default=None, ge=0, description="Where to insert the stage (0 = first); default last."
    )


class StageUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    probability: Annotated[Probability, Field(ge=0, le=100)] | SkipJsonSchema[None] = None
    kind: StageKind | SkipJsonSchema[None] = None

    _not_null = not_null("name", "probability", "kind")


class StageOrder(InputSchema):
    stage_ids: list[uuid.UUID] = Field(
        min_length=1, description="Every stage of the pipeline, in the new order."
    )


class PipelineCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Enterprise sales"])
    stages: list[StageCreate] = Field(min_length=1, max_length=50)


class PipelineUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)

    _not_null = not_null("name")


class StageRead(ReadSchema):
    id: uuid.UUID
    name: str
    position: int
    probability: int
    kind: StageKind


class PipelineRead(ReadSchema):
    id: uuid.UUID
    name: str
    stages: list[StageRead] = Field(description="In pipeline order.")
    created_at: datetime
    updated_at: datetime
    version: int


class PipelineListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "created_at"
