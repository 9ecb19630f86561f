import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from crm_api.core.schemas import CurrencyCode, IsoDateTime, in_minor_units
from crm_api.models.base import utcnow

Interval = Literal["day", "week", "month"]
MAX_PERIODS = 400


def _fault(params: BaseModel, name: str, message: str) -> ValidationError:
    """A 422 naming the parameter at fault (a model-level error would name none)."""
    return ValidationError.from_exception_data(
        type(params).__name__,
        [
            InitErrorDetails(
                type=PydanticCustomError("value_error", message),
                loc=(name,),
                input=getattr(params, name),
            )
        ],
    )


class KpiParams(BaseModel):
    """The time range every KPI takes, and the series interval where it has one."""

    model_config = ConfigDict(extra="forbid")

    start: IsoDateTime | None = Field(
        default=None,
        description="Inclusive; a date (`2026-01-01`, midnight UTC) or a date-time; default "
        "end - 30 days.",
    )
    end: IsoDateTime | None = Field(
        default=None, description="Exclusive; a date or a date-time; default now."
    )
    interval: Interval | None = Field(
        default=None, description="With it, the answer has a `series` (UTC periods)."
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        self.end = self.end or utcnow()
        try:
            self.start = self.start or self.end - timedelta(days=30)
        except OverflowError as exc:
            raise _fault(
                self, "end", "is too early for the default start (30 days before)"
            ) from exc
        if self.start >= self.end:
            raise _fault(self, "start", "must be before end")
        step = {"day": 1, "week": 7, "month": 28}.get(self.interval or "", 0)
        if step and (self.end - self.start).days / step > MAX_PERIODS:
            raise _fault(self, "interval", f"gives more than {MAX_PERIODS} periods in this range")
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
    currency: CurrencyCode = Field(description="Only deals in this currency count.")


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
    approximate: bool = Field(
        default=False,
        description="True when `value`, `series` and `groups` are estimates: first-response "
        "time over a range holding a whole UTC month, without a daily or weekly series or a "
        "breakdown by assignee, reads percentiles from log-bucket histograms, each within 1% "
        "of the exact figure. False: exact.",
    )

    @model_validator(mode="after")
    def _money_in_minor_units(self) -> Self:
        if self.unit == "money" and self.currency is not None:
            currency = self.currency
            self.value = None if self.value is None else in_minor_units(self.value, currency)
            for item in [*(self.series or ()), *(self.groups or ())]:
                item.value = None if item.value is None else in_minor_units(item.value, currency)
        return self
