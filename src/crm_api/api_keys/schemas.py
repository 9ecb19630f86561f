import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from crm_api.core.auth import Scope
from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema


class ApiKeyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Website sync"])
    scopes: list[Scope] = Field(min_length=1, examples=[["contacts:read", "contacts:write"]])
    expires_at: IsoDateTime | None = None
    member_id: uuid.UUID | None = Field(
        default=None,
        description="The member the key acts for: ticket replies and notes made with it are "
        "theirs unless another member is named.",
    )


class ApiKeyRead(ReadSchema):
    id: uuid.UUID
    name: str
    scopes: list[Scope]
    secret_hint: str = Field(description="The last four characters of the secret.")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    member_id: uuid.UUID | None


class ApiKeyCreated(ApiKeyRead):
    secret: str = Field(description="The API key itself. Shown this once; only its hash is kept.")


class ApiKeyListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    revoked: bool | None = Field(
        default=None, description="Only revoked (true) or live (false) keys."
    )
