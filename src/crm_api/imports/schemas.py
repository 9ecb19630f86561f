import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import ReadSchema

ImportResource = Literal["contacts", "companies", "deals"]
ImportMode = Literal["create", "upsert"]


class ImportJobRead(ReadSchema):
    id: uuid.UUID
    resource: ImportResource
    format: Literal["csv", "jsonl"]
    mode: ImportMode = Field(
        description="`create` fails rows whose natural key exists; `upsert` updates those "
        "records (the fields the row gives) and creates the rest."
    )
    filename: str | None
    mapping: dict[str, str] = Field(
        description="Source column (CSV) or key (JSON Lines) -> field. `{}` for a JSON Lines "
        "file means every key names its field."
    )
    reimport_erased: bool
    status: Literal["queued", "running", "succeeded", "failed"]
    rows_total: int = Field(description="Data rows in the file.")
    rows_done: int = Field(description="Rows processed so far, loaded or failed.")
    created: int
    updated: int
    unchanged: int = Field(description="Upserted rows that matched a record without changing it.")
    failed: int = Field(description="Rows not loaded; see `GET /v1/imports/{id}/errors`.")
    error: str | None = Field(description="Why a `failed` job stopped.")
    actor_type: str
    actor_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportRowErrorRead(ReadSchema):
    row: int = Field(description="The row's position among the file's data rows, from 1.")
    errors: list[dict[str, Any]] = Field(
        description='[{"loc": [source column, ...], "msg": ..., "type": ...}]'
    )


class ImportListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    resource: ImportResource | None = None
    status: Literal["queued", "running", "succeeded", "failed"] | None = None


class ImportErrorListParams(ListParams):
    sort: Literal["row"] = "row"
