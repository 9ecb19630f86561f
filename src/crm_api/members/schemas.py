import uuid
from datetime import datetime
from typing import Literal

from pydantic import EmailStr, Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null

MemberRole = Literal["admin", "manager", "agent", "sales"]


class MemberCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Ada Lovelace"])
    email: EmailStr
    role: MemberRole = "sales"
    escalation_target: bool = Field(
        default=False, description="Escalated tickets go to the least loaded of these members."
    )


class MemberUpdate(InputSchema):
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | SkipJsonSchema[None] = None
    role: MemberRole | SkipJsonSchema[None] = None
    escalation_target: bool | SkipJsonSchema[None] = None

    _not_null = not_null("name", "email", "role", "escalation_target")


class MemberRead(ReadSchema):
    id: uuid.UUID
    name: str
    email: str
    role: MemberRole
    escalation_target: bool
    created_at: datetime
    updated_at: datetime
    version: int


class MemberListParams(ListParams):
    sort: Literal["created_at", "-created_at", "name", "-name"] = "-created_at"
    role: MemberRole | None = None
    email: str | None = Field(default=None, description="Exact email, ignoring case.")
