"""`/v1/kpis/...`: each KPI with its formula in its description."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import customers, sales, support
from .measure import Measure, evaluate, result, rounded
from .schemas import (
    ConversionParams,
    DurationParams,
    ForecastParams,
    FunnelParams,
    KpiParams,
    KpiResult,
    OrderMoneyParams,
    SalesMoneyParams,
    SalesParams,
    TicketParams,
    VelocityParams,
    VolumeParams,
)

router = crm_router("/v1/kpis", "KPIs")
Reader = Annotated[Principal, Depends(require(Scope.kpis_read))]
_RANGE = (
    " Rows count when their time falls in [start, end); `interval` adds a series of UTC periods,"
    " `group_by` a breakdown."
)


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _route(
    path: str, summary: str, formula: str, params: type[Any]
) -> Callable[[Endpoint], Endpoint]:
    return router.get(
        path,
        summary=summary,
        description=formula,
        responses=problem_responses(404) if params is FunnelParams else None,
        openapi_extra=documented_params(params),
    )


@dataclass(frozen=True)
class Simple:
    """A KPI that is one measure: its route, answer and formula."""

    path: str
    kpi: str
    unit: str
    summary: str
    formula: str
    params: type[KpiParams]
    measure: Measure | Callable[[Any], Measure]
    kind: str | None = None  # the survey kind a survey KPI reads


SIMPLE = (
    Simple(
        "/sales/pipeline-value",
        "pipeline_value",
        "money",
        "Open pipeline value",
        "sum(amount) of open deals (stage kind `open`, not archived) in `currency`, as of now; the"
        " time range does not apply.",
        SalesMoneyParams,
        sales.OPEN_VALUE,
    ),
    Simple(
        "/sales/weighted-pipeline-value",
        "weighted_pipeline_value",
        "money",
        "Probability-weighted pipeline value",
        "sum(amount x stage probability / 100) of open deals in `currency`, as of now.",
        SalesMoneyParams,
        sales.WEIGHTED_VALUE,
    ),
    Simple(
        "/sales/win-rate",
        "win_rate",
        "ratio",
        "Win rate",
        "won / (won + lost), over deals closed (closed_at) in the range." + _RANGE,
        SalesParams,
        sales.WIN_RATE,
    ),
    Simple(
        "/sales/average-deal-size",
        "average_deal_size",
        "money",
        "Average deal size",
        "avg(amount) of deals won in the range, in `currency`." + _RANGE,
        SalesMoneyParams,
        sales.DEAL_SIZE,
    ),
    Simple(
        "/sales/sales-cycle",
        "sales_cycle",
        "days",
        "Average sales cycle length",
        "avg(closed_at - created_at) in days, of deals won in the range." + _RANGE,
        SalesParams,
        sales.SALES_CYCLE,
    ),
    Simple(
        "/customers/lifetime-value",
        "lifetime_value",
        "money",
        "Customer lifetime value (historical)",
        "sum(total) / count(distinct contact) over paid and fulfilled orders in `currency` placed"
        " in the range: revenue per purchasing customer (a wide range gives the lifetime)."
        + _RANGE,
        OrderMoneyParams,
        customers.LIFETIME_VALUE,
    ),
    Simple(
        "/customers/average-order-value",
        "average_order_value",
        "money",
        "Average order value",
        "avg(total) of paid and fulfilled orders in `currency` placed in the range." + _RANGE,
        OrderMoneyParams,
        customers.ORDER_VALUE,
    ),
    Simple(
        "/customers/purchase-frequency",
        "purchase_frequency",
        "ratio",
        "Purchase frequency",
        "orders / distinct purchasing contacts, over paid and fulfilled orders in `currency` placed"
        " in the range." + _RANGE,
        OrderMoneyParams,
        customers.PURCHASE_FREQUENCY,
    ),
    Simple(
        "/service/nps",
        "nps",
        "score",
        "Net Promoter Score",
        "100 x (promoters (9-10) - detractors (0-6)) / responses, over NPS responses in the range"
        " (-100 to 100)." + _RANGE,
        KpiParams,
        support.NPS,
        kind="nps",
    ),
    Simple(
        "/service/csat",
        "csat",
        "score",
        "CSAT average",
        "avg(score) of CSAT ratings (1-5) given in the range." + _RANGE,
        KpiParams,
        support.CSAT,
        kind="csat",
    ),
    Simple(
        "/service/first-response-time",
        "first_response_time",
        "seconds",
        "First response time",
        "The median (or `statistic=p90`) of first_responded_at - created_at in seconds, over"
        " tickets created in the range that have had a first reply. Over whole UTC months"
        " (monthly or no series, no breakdown by assignee) the percentiles come from kept"
        " histograms, each within 1% of the exact figure, and the answer says `approximate:"
        " true`." + _RANGE,
        DurationParams,
        lambda params: support.first_response_time(params.statistic),
    ),
    Simple(
        "/service/resolution-time",
        "resolution_time",
        "seconds",
        "Resolution time",
        "The median (or `statistic=p90`) of solved_at - created_at in seconds, over tickets solved"
        " in the range (wall-clock time)." + _RANGE,
        DurationParams,
        lambda params: support.resolution_time(params.statistic),
    ),
    Simple(
        "/service/sla-compliance",
        "sla_compliance",
        "ratio",
        "SLA compliance rate",
        "Of the tickets created in the range under an SLA policy, the share with no target"
        " breached." + _RANGE,
        TicketParams,
        support.SLA_COMPLIANCE,
    ),
    Simple(
        "/service/ticket-volume",
        "ticket_volume",
        "count",
        "Ticket volume",
        "count(*) of tickets created in the range; `group_by=channel` or `priority` breaks it"
        " down." + _RANGE,
        VolumeParams,
        support.TICKET_VOLUME,
    ),
    Simple(
        "/service/negative-sentiment-share",
        "negative_sentiment_share",
        "ratio",
        "Share of negative inbound interactions",
        "Of the inbound interactions in the range with a sentiment score, the share scoring -0.05"
        " or lower (VADER's threshold for negative)." + _RANGE,
        KpiParams,
        support.NEGATIVE_SENTIMENT,
    ),
)


def _register(spec: Simple) -> None:
    async def endpoint(
        principal: Reader,
        session: SessionDep,
        params: Any = Depends(list_params(spec.params)),
    ) -> KpiResult:
        measure = spec.measure if isinstance(spec.measure, Measure) else spec.measure(params)
        currency = getattr(params, "currency", None)
        binds = {"currency": currency, "kind": spec.kind}
        answer = await evaluate(session, principal, measure, params, binds)
        return result(spec.kpi, spec.unit, params, answer, currency)

    router.add_api_route(
        spec.path,
        endpoint,
        methods=["GET"],
        name=f"kpi_{spec.kpi}",
        summary=spec.summary,
        description=spec.formula,
        openapi_extra=documented_params(spec.params),
    )


for simple in SIMPLE:
    _register(simple)


# --- Sales -------------------------------------------------------------------------------------


@_route(
    "/sales/pipeline-velocity",
    "Pipeline velocity",
    "(open deals now x win rate x average deal size) / average sales cycle in days, the last"
    " three over the range, every part from deals in `currency` only: the value the pipeline"
    " brings in per day in that currency.",
    VelocityParams,
)
async def kpi_pipeline_velocity(
    principal: Reader,
    params: Annotated[VelocityParams, Depends(list_params(VelocityParams))],
    session: SessionDep,
) -> KpiResult:
    value = await sales.pipeline_velocity(session, principal, params, params.currency)
    return result(
        "pipeline_velocity", "money_per_day", params, (value, None, None), params.currency
    )


@_route(
    "/sales/funnel",
    "Stage-to-stage conversion funnel",
    "Per stage of the pipeline (in order, lost stages left out): the deals that entered it in"
    " the range, from the stage history (`value`, `count`), and that number over the previous"
    " stage's (`ratio`). `value` of the answer: last stage over first.",
    FunnelParams,
)
async def kpi_funnel(
    principal: Reader,
    params: Annotated[FunnelParams, Depends(list_params(FunnelParams))],
    session: SessionDep,
) -> KpiResult:
    return await sales.funnel(session, principal, params)


@_route(
    "/sales/forecast",
    "Forecast by expected close month",
    "Per month of expected_close_date within the range: sum(amount x probability / 100) of open"
    " deals in `currency` (`value`) and how many (`count`); `value` of the answer is the sum.",
    ForecastParams,
)
async def kpi_forecast(
    principal: Reader,
    params: Annotated[ForecastParams, Depends(list_params(ForecastParams))],
    session: SessionDep,
) -> KpiResult:
    return await sales.forecast(session, principal, params)


# --- Customers ---------------------------------------------------------------------------------


@_route(
    "/customers/lifecycle-conversion",
    "Lifecycle conversion rate",
    "Of the contacts that entered `from_stage` (default lead) in the range, the share that"
    " reached `to_stage` (default customer) afterwards, at any time.",
    ConversionParams,
)
async def kpi_lifecycle_conversion(
    principal: Reader,
    params: Annotated[ConversionParams, Depends(list_params(ConversionParams))],
    session: SessionDep,
) -> KpiResult:
    value = await customers.lifecycle_conversion(session, principal, params)
    return result("lifecycle_conversion", "ratio", params, (value, None, None))


@_route(
    "/customers/repeat-purchase-rate",
    "Repeat purchase rate",
    "Of the contacts with a paid or fulfilled order placed in the range, the share with two or"
    " more.",
    KpiParams,
)
async def kpi_repeat_purchase_rate(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
) -> KpiResult:
    value = await customers.repeat_purchase_rate(session, principal, params)
    return result("repeat_purchase_rate", "ratio", params, (value, None, None))


@_route(
    "/customers/churn-rate",
    "Churn rate",
    "Of the customers at `start`, the share lost by `end`. With CRM_CHURN_DEFINITION=inactivity"
    " (default) a customer at a time is a contact with a paid or fulfilled order in the"
    " CRM_CHURN_INACTIVE_DAYS (default 90) before it, and is lost when no longer one at `end`;"
    " with `marked`, customers are contacts in lifecycle stage customer at `start`, lost when"
    " their stage becomes churned in the range.",
    KpiParams,
)
async def kpi_churn_rate(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
    request: Request,
) -> KpiResult:
    value = await customers.churn_rate(session, principal, params, request.app.state.settings)
    return result("churn_rate", "ratio", params, (value, None, None))


@_route(
    "/customers/retention-rate",
    "Retention rate",
    "1 - churn rate, for the same customers and definition (see churn-rate).",
    KpiParams,
)
async def kpi_retention_rate(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
    request: Request,
) -> KpiResult:
    churn = await customers.churn_rate(session, principal, params, request.app.state.settings)
    value = None if churn is None else rounded(1 - churn)
    return result("retention_rate", "ratio", params, (value, None, None))


@_route(
    "/customers/active-customers",
    "Active customers",
    "Contacts with a paid or fulfilled order in the CRM_CHURN_INACTIVE_DAYS (default 90) before"
    " `end`.",
    KpiParams,
)
async def kpi_active_customers(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
    request: Request,
) -> KpiResult:
    value = await customers.active_customers(session, principal, params, request.app.state.settings)
    return result("active_customers", "count", params, (value, None, None))


# --- Service -----------------------------------------------------------------------------------
