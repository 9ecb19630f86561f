"""`/v1/kpis/...`: each KPI with its formula in its description."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.errors import problem_responses
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
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
from .service import Measure, evaluate, result

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


async def _simple(
    session: SessionDep,
    principal: Principal,
    kpi: str,
    unit: str,
    measure: Measure,
    params: KpiParams,
    currency: str | None = None,
) -> KpiResult:
    binds = {"currency": currency} if currency else None
    answer = await evaluate(session, principal, measure, params, binds)
    return result(kpi, unit, params, answer, currency)


# --- Sales -------------------------------------------------------------------------------------


@_route(
    "/sales/pipeline-value",
    "Open pipeline value",
    "sum(amount) of open deals (stage kind `open`, not archived) in `currency`, as of now; the"
    " time range does not apply.",
    SalesMoneyParams,
)
async def kpi_pipeline_value(
    principal: Reader,
    params: Annotated[SalesMoneyParams, Depends(list_params(SalesMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session, principal, "pipeline_value", "money", service.OPEN_VALUE, params, params.currency
    )


@_route(
    "/sales/weighted-pipeline-value",
    "Probability-weighted pipeline value",
    "sum(amount x stage probability / 100) of open deals in `currency`, as of now.",
    SalesMoneyParams,
)
async def kpi_weighted_pipeline_value(
    principal: Reader,
    params: Annotated[SalesMoneyParams, Depends(list_params(SalesMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session,
        principal,
        "weighted_pipeline_value",
        "money",
        service.WEIGHTED_VALUE,
        params,
        params.currency,
    )


@_route(
    "/sales/win-rate",
    "Win rate",
    "won / (won + lost), over deals closed (closed_at) in the range." + _RANGE,
    SalesParams,
)
async def kpi_win_rate(
    principal: Reader,
    params: Annotated[SalesParams, Depends(list_params(SalesParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(session, principal, "win_rate", "ratio", service.WIN_RATE, params)


@_route(
    "/sales/average-deal-size",
    "Average deal size",
    "avg(amount) of deals won in the range, in `currency`." + _RANGE,
    SalesMoneyParams,
)
async def kpi_average_deal_size(
    principal: Reader,
    params: Annotated[SalesMoneyParams, Depends(list_params(SalesMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session, principal, "average_deal_size", "money", service.DEAL_SIZE, params, params.currency
    )


@_route(
    "/sales/sales-cycle",
    "Average sales cycle length",
    "avg(closed_at - created_at) in days, of deals won in the range." + _RANGE,
    SalesParams,
)
async def kpi_sales_cycle(
    principal: Reader,
    params: Annotated[SalesParams, Depends(list_params(SalesParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(session, principal, "sales_cycle", "days", service.SALES_CYCLE, params)


@_route(
    "/sales/pipeline-velocity",
    "Pipeline velocity",
    "(open deals now x win rate x average deal size in `currency`) / average sales cycle in"
    " days, the last three over the range: the value the pipeline brings in per day.",
    VelocityParams,
)
async def kpi_pipeline_velocity(
    principal: Reader,
    params: Annotated[VelocityParams, Depends(list_params(VelocityParams))],
    session: SessionDep,
) -> KpiResult:
    value = await service.pipeline_velocity(session, principal, params, params.currency)
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
    return await service.funnel(session, principal, params)


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
    return await service.forecast(session, principal, params)


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
    value = await service.lifecycle_conversion(session, principal, params)
    return result("lifecycle_conversion", "ratio", params, (value, None, None))


@_route(
    "/customers/lifetime-value",
    "Customer lifetime value (historical)",
    "sum(total) / count(distinct contact) over paid and fulfilled orders in `currency` placed"
    " in the range: revenue per purchasing customer (a wide range gives the lifetime)." + _RANGE,
    OrderMoneyParams,
)
async def kpi_lifetime_value(
    principal: Reader,
    params: Annotated[OrderMoneyParams, Depends(list_params(OrderMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session,
        principal,
        "lifetime_value",
        "money",
        service.LIFETIME_VALUE,
        params,
        params.currency,
    )


@_route(
    "/customers/average-order-value",
    "Average order value",
    "avg(total) of paid and fulfilled orders in `currency` placed in the range." + _RANGE,
    OrderMoneyParams,
)
async def kpi_average_order_value(
    principal: Reader,
    params: Annotated[OrderMoneyParams, Depends(list_params(OrderMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session,
        principal,
        "average_order_value",
        "money",
        service.ORDER_VALUE,
        params,
        params.currency,
    )


@_route(
    "/customers/purchase-frequency",
    "Purchase frequency",
    "orders / distinct purchasing contacts, over paid and fulfilled orders in `currency` placed"
    " in the range." + _RANGE,
    OrderMoneyParams,
)
async def kpi_purchase_frequency(
    principal: Reader,
    params: Annotated[OrderMoneyParams, Depends(list_params(OrderMoneyParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session,
        principal,
        "purchase_frequency",
        "ratio",
        service.PURCHASE_FREQUENCY,
        params,
        params.currency,
    )


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
    value = await service.repeat_purchase_rate(session, principal, params)
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
    value = await service.churn_rate(session, principal, params, request.app.state.settings)
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
    churn = await service.churn_rate(session, principal, params, request.app.state.settings)
    value = None if churn is None else service.rounded(1 - churn)
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
    value = await service.active_customers(session, principal, params, request.app.state.settings)
    return result("active_customers", "count", params, (value, None, None))


# --- Service -----------------------------------------------------------------------------------


@_route(
    "/service/nps",
    "Net Promoter Score",
    "100 x (promoters (9-10) - detractors (0-6)) / responses, over NPS responses in the range"
    " (-100 to 100)." + _RANGE,
    KpiParams,
)
async def kpi_nps(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
) -> KpiResult:
    answer = await evaluate(session, principal, service.NPS, params, {"kind": "nps"})
    return result("nps", "score", params, answer)


@_route(
    "/service/csat",
    "CSAT average",
    "avg(score) of CSAT ratings (1-5) given in the range." + _RANGE,
    KpiParams,
)
async def kpi_csat(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
) -> KpiResult:
    answer = await evaluate(session, principal, service.CSAT, params, {"kind": "csat"})
    return result("csat", "score", params, answer)


@_route(
    "/service/first-response-time",
    "First response time",
    "The median (or `statistic=p90`) of first_responded_at - created_at in seconds, over"
    " tickets created in the range that have had a first reply." + _RANGE,
    DurationParams,
)
async def kpi_first_response_time(
    principal: Reader,
    params: Annotated[DurationParams, Depends(list_params(DurationParams))],
    session: SessionDep,
) -> KpiResult:
    measure = service.first_response_time(params.statistic)
    return await _simple(session, principal, "first_response_time", "seconds", measure, params)


@_route(
    "/service/resolution-time",
    "Resolution time",
    "The median (or `statistic=p90`) of solved_at - created_at in seconds, over tickets solved"
    " in the range (wall-clock time)." + _RANGE,
    DurationParams,
)
async def kpi_resolution_time(
    principal: Reader,
    params: Annotated[DurationParams, Depends(list_params(DurationParams))],
    session: SessionDep,
) -> KpiResult:
    measure = service.resolution_time(params.statistic)
    return await _simple(session, principal, "resolution_time", "seconds", measure, params)


@_route(
    "/service/sla-compliance",
    "SLA compliance rate",
    "Of the tickets created in the range under an SLA policy, the share with no target"
    " breached." + _RANGE,
    TicketParams,
)
async def kpi_sla_compliance(
    principal: Reader,
    params: Annotated[TicketParams, Depends(list_params(TicketParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session, principal, "sla_compliance", "ratio", service.SLA_COMPLIANCE, params
    )


@_route(
    "/service/ticket-volume",
    "Ticket volume",
    "count(*) of tickets created in the range; `group_by=channel` or `priority` breaks it"
    " down." + _RANGE,
    VolumeParams,
)
async def kpi_ticket_volume(
    principal: Reader,
    params: Annotated[VolumeParams, Depends(list_params(VolumeParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session, principal, "ticket_volume", "count", service.TICKET_VOLUME, params
    )


@_route(
    "/service/negative-sentiment-share",
    "Share of negative inbound interactions",
    "Of the inbound interactions in the range with a sentiment score, the share scoring -0.05"
    " or lower (VADER's threshold for negative)." + _RANGE,
    KpiParams,
)
async def kpi_negative_sentiment_share(
    principal: Reader,
    params: Annotated[KpiParams, Depends(list_params(KpiParams))],
    session: SessionDep,
) -> KpiResult:
    return await _simple(
        session, principal, "negative_sentiment_share", "ratio", service.NEGATIVE_SENTIMENT, params
    )
