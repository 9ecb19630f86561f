import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crm_api.core.schemas import CurrencyCode, IsoDateTime, in_minor_units
from crm_api.models.base import utcnow

Interval = Literal["day", "week", "month"]
MAX_PERIODS = 400


class KpiParams(BaseModel):
    """The time range every KPI takes, and the series interval where it has one."""

    model_config = ConfigDict(extra="forbid")

    start: IsoDateTime | None = Field(default=None, description="Inclusive; default end - 30 days.")
    end: IsoDateTime | None = Field(default=None, description="Exclusive; default now.")
    interval: Interval | None = Field(
        default=None, description="With it, the answer has a `series` (UTC periods)."
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        self.end = self.end or utcnow()
        try:
            self.start = self.start or self.end - timedelta(days=30)
        except OverflowError as exc:
            raise ValueError("end is too early for the default start") from exc
        if self.start >= self.end:
            raise ValueError("start must be before end")
        step = {"day": 1, "week": 7, "month": 28}.get(self.interval or "", 0)
        if step and (self.end - self.start).days / step > MAX_PERIODS:
            raise ValueError(f"a series has at most {MAX_PERIODS} periods")
        return self

    @property
    def range(self) -> tuple[datetime, datetime]:
        assert self.start is not None
        assert self.end is not None
        return self.start, self.end


class Grouped(KpiParams):
    group_by: str | None = None


class SalesParams(Grouped):
    group_by: Literal["owner", "pipeline", "lead_source", "industry"] | None = Field(
        default=None, description="With it, the answer has `groups`."
    )


class SalesMoneyParams(SalesParams):
    currency: CurrencyCode = Field(description="Only deals in this currency count.")


class VelocityParams(KpiParams):
    currency: CurrencyCode = Field(description="Only deals in this currency count.")


class FunnelParams(KpiParams):
    pipeline_id: uuid.UUID


class ForecastParams(KpiParams):
    currency: CurrencyCode


class CustomerParams(Grouped):
    group_by: Literal["owner", "lead_source", "industry"] | None = None


class OrderMoneyParams(CustomerParams):
    currency: CurrencyCode = Field(description="Only orders in this currency count.")


class ConversionParams(KpiParams):
    from_stage: str = Field(default="lead", max_length=32)
    to_stage: str = Field(default="customer", max_length=32)


class TicketParams(Grouped):
    group_by: Literal["channel", "priority", "assignee"] | None = None


class DurationParams(TicketParams):
    statistic: Literal["median", "p90"] = "median"


class VolumeParams(TicketParams):
    pass


class KpiPoint(BaseModel):
    period_start: datetime
    value: Decimal | None


class KpiGroup(BaseModel):
    key: str | None = Field(description="The group: an id, a name, a month; null for none.")
    value: Decimal | None
    count: int | None = Field(default=None, description="Records behind the value, where useful.")
    ratio: Decimal | None = Field(
        default=None, description="For the funnel: the share of the previous stage's deals."
    )


class KpiResult(BaseModel):
    kpi: str
    unit: Literal["ratio", "money", "days", "seconds", "count", "score", "money_per_day"]
    currency: str | None = None
    start: datetime
    end: datetime
    value: Decimal | None = Field(
        description="Decimal string; 0 for a sum of nothing, null for an average or ratio of "
        "nothing. Money has its currency's decimal places, as everywhere."
    )
    series: list[KpiPoint] | None = None
    groups: list[KpiGroup] | None = None

    @model_validator(mode="after")
    def _money_in_minor_units(self) -> Self:
        if self.unit == "money" and self.currency is not None:
            currency = self.currency
            self.value = None if self.value is None else in_minor_units(self.value, currency)
            for item in [*(self.series or ()), *(self.groups or ())]:
                item.value = None if item.value is None else in_minor_units(item.value, currency)
        return self
