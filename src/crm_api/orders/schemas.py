import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import (
    Amount,
    CurrencyCode,
    InputSchema,
    IsoDateTime,
    Money,
    ReadSchema,
    in_minor_units,
    not_null,
)

OrderStatus = Literal["placed", "paid", "fulfilled", "cancelled", "refunded"]


class OrderLineCreate(InputSchema):
    product_id: uuid.UUID
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Amount | None = Field(
        default=None, description="In the order's currency; defaults to the product's price."
    )


class OrderCreate(InputSchema):
    contact_id: uuid.UUID = Field(description="Who buys.")
    company_id: uuid.UUID | None = None
    currency: CurrencyCode | None = Field(
        default=None, description="Defaults to the first product's currency."
    )
    lines: list[OrderLineCreate] = Field(min_length=1, max_length=100)
    status: OrderStatus = Field(
        default="placed", description="Another status records an order from the past."
    )
    placed_at: IsoDateTime | None = Field(default=None, description="Defaults to now.")
    note: str | None = Field(default=None, max_length=10_000)


class OrderUpdate(InputSchema):
    """`status` moves the order: placed -> paid -> fulfilled, cancelled from placed or paid,
    refunded from paid or fulfilled. Lines are fixed once placed."""

    status: OrderStatus | SkipJsonSchema[None] = None
    company_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=10_000)

    _not_null = not_null("status")


class OrderLineRead(ReadSchema):
    product_id: uuid.UUID
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class OrderRead(ReadSchema):
    id: uuid.UUID
    contact_id: uuid.UUID
    company_id: uuid.UUID | None
    status: OrderStatus
    total: Money
    lines: list[OrderLineRead]
    placed_at: datetime
    status_changed_at: datetime
    note: str | None
    created_at: datetime
    updated_at: datetime
    version: int

    @model_validator(mode="after")
    def _lines_in_minor_units(self) -> Self:
        """Line prices written as the total is: with the currency's decimal places."""
        for line in self.lines:
            line.unit_price = in_minor_units(line.unit_price, self.total.currency)
            line.line_total = in_minor_units(line.line_total, self.total.currency)
        return self


class OrderListParams(ListParams):
    sort: Literal["placed_at", "-placed_at", "created_at", "-created_at", "total", "-total"] = (
        "-placed_at"
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Search text: the buyer's name or email.",
    )
    contact_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    status: list[OrderStatus] | None = None
    placed_at_gte: IsoDateTime | None = None
    placed_at_lte: IsoDateTime | None = None
    total_gte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
    total_lte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
