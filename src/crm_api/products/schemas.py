import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, Money, ReadSchema, not_null
from crm_api.models import Product


class ProductCreate(InputSchema):
    sku: str = Field(min_length=1, max_length=64, examples=["PRO-ANNUAL"])
    name: str = Field(min_length=1, max_length=300, examples=["Pro plan, annual"])
    description: str | None = Field(default=None, max_length=10_000)
    price: Money
    active: bool = Field(default=True, description="Only active products can be ordered.")


class ProductUpdate(InputSchema):
    sku: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=64)
    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=300)
    description: str | None = Field(default=None, max_length=10_000)
    price: Money | SkipJsonSchema[None] = None
    active: bool | SkipJsonSchema[None] = None

    _not_null = not_null("sku", "name", "price", "active")


class ProductRead(ReadSchema):
    id: uuid.UUID
    sku: str
    name: str
    description: str | None
    price: Money
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, product: Product) -> "ProductRead":
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price=Money(amount=product.price, currency=product.currency),
            active=product.active,
            created_at=product.created_at,
            updated_at=product.updated_at,
            version=product.version,
        )


class ProductListParams(ListParams):
    sort: Literal["created_at", "-created_at", "name", "-name"] = "-created_at"
    active: bool | None = None
    sku: str | None = Field(default=None, max_length=64, description="Exact SKU, ignoring case.")
