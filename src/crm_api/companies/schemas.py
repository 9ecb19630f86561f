import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.filters import RecordListParams
from crm_api.core.schemas import (
    Address,
    CustomFieldValues,
    InputSchema,
    Money,
    ReadSchema,
    Tags,
    field_reader,
    not_null,
)
from crm_api.models import Company

MAX_INT4 = 2_147_483_647
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def normalize_domain(value: str) -> str:
    """``https://www.Example.com/about`` -> ``example.com``: one company, one spelling."""
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z]+://", "", domain).split("/", 1)[0].removeprefix("www.")
    if not _DOMAIN.match(domain):
        raise ValueError("must be a domain name such as example.com")
    return domain


class _CompanyFields(InputSchema):
    domain: str | None = Field(default=None, examples=["example.com"])
    industry: str | None = Field(default=None, max_length=100, examples=["software"])
    employee_count: StrictInt | None = Field(default=None, ge=0, le=MAX_INT4)
    annual_revenue: Money | None = None
    address: Address | None = None

    @field_validator("domain")
    @classmethod
    def _normalize_domain(cls, value: str | None) -> str | None:
        return None if value is None else normalize_domain(value)


class CompanyCreate(_CompanyFields):
    name: str = Field(min_length=1, max_length=300, examples=["Acme Ltd"])
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFieldValues = Field(default_factory=dict)


class CompanyUpsert(CompanyCreate):
    domain: str = Field(
        description="The natural key: an existing company with this domain is updated."
    )


class CompanyUpdate(_CompanyFields):
    """Fields not sent are untouched; null clears a field; objects merge (RFC 7396)."""

    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=300)
    tags: Tags | SkipJsonSchema[None] = None
    custom_fields: CustomFieldValues | SkipJsonSchema[None] = None

    _not_null = not_null("name", "tags", "custom_fields")


class CompanyRead(ReadSchema):
    model_config = ConfigDict(from_attributes=False)

    id: uuid.UUID
    name: str
    domain: str | None
    industry: str | None
    employee_count: int | None
    annual_revenue: Money | None
    address: Address | None
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int

    @classmethod
    def of(cls, company: Company | Mapping[str, Any]) -> "CompanyRead":
        """From the model, or from a row of its columns (repository.READ_COMPANY)."""
        value = field_reader(company)
        address = value("address")
        return cls(
            id=value("id"),
            name=value("name"),
            domain=value("domain"),
            industry=value("industry"),
            employee_count=value("employee_count"),
            annual_revenue=Money.stored(value("annual_revenue"), value("annual_revenue_currency")),
            address=Address.model_validate(address) if address else None,
            tags=value("tags"),
            custom_fields=value("custom_fields"),
            created_at=value("created_at"),
            updated_at=value("updated_at"),
            archived_at=value("archived_at"),
            version=value("version"),
        )


class CompanyListParams(RecordListParams):
    model_config = ConfigDict(extra="allow")

    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at", "name", "-name"] = (
        "-created_at"
    )
    name: str | None = Field(default=None, description="Exact name.")
    domain: str | None = None
    industry: list[str] | None = None
    employee_count_gte: int | None = Field(default=None, ge=-MAX_INT4, le=MAX_INT4)
    employee_count_lte: int | None = Field(default=None, ge=-MAX_INT4, le=MAX_INT4)
    annual_revenue_gte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
    annual_revenue_lte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
