"""Sales KPIs: the open pipeline, closed deals, the funnel and the forecast."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.errors import NotFound

from .measure import AS_TIME, WHOLE_DAYS, Measure, day_binds, partial_days, rounded
from .schemas import ForecastParams, FunnelParams, KpiGroup, KpiParams, KpiResult

_DEAL_DIMENSIONS = {
    "owner": "d.owner_id::text",
    "pipeline": "d.pipeline_id::text",
    "lead_source": "d.source",
    "industry": "c.industry",
}
_DEALS = (
    "FROM deals d JOIN pipeline_stages s ON s.workspace_id = d.workspace_id AND s.id = d.stage_id"
    " LEFT JOIN companies c ON c.workspace_id = d.workspace_id AND c.id = d.company_id"
    " WHERE d.workspace_id = :workspace_id AND d.archived_at IS NULL"
)
_CLOSED = _DEALS + " AND s.kind IN ('won', 'lost') AND d.closed_at >= :start AND d.closed_at < :end"
_WON = _DEALS + " AND s.kind = 'won' AND d.closed_at >= :start AND d.closed_at < :end"
_OPEN = _DEALS + " AND s.kind = 'open'"

# The same from the deal rollups (`models/rollup.py`); a company's industry is not in them.
_STAGE = "JOIN pipeline_stages s ON s.workspace_id = :workspace_id AND s.id = {}.stage_id"
_OPEN_TOTALS = (
    f"FROM deal_stage_totals r {_STAGE.format('r')}"
    " WHERE r.workspace_id = :workspace_id AND s.kind = 'open'"
)
_OPEN_DIMENSIONS = {
    "owner": "r.owner_id::text",
    "pipeline": "s.pipeline_id::text",
    "lead_source": "r.source",
}
_CLOSE_DAYS = (
    f"FROM (SELECT {AS_TIME} AS at, r.stage_id, r.currency, r.owner_id, r.source, r.deals AS n,"
    " r.amount, r.cycle_seconds FROM deal_close_days r WHERE r.workspace_id = :workspace_id"
    f" AND {WHOLE_DAYS}"
    " UNION ALL SELECT d.closed_at, d.stage_id, d.currency, d.owner_id, d.source, 1,"
    " coalesce(d.amount, 0), extract(epoch FROM d.closed_at - d.created_at) FROM deals d"
    " WHERE d.workspace_id = :workspace_id AND d.archived_at IS NULL"
    f" AND d.closed_at IS NOT NULL AND {partial_days('d.closed_at')}) AS x"
    f" {_STAGE.format('x')} WHERE s.kind IN ('won', 'lost')"
)
_CLOSE_DIMENSIONS = {
    "owner": "x.owner_id::text",
    "pipeline": "s.pipeline_id::text",
    "lead_source": "x.source",
}
_WON_ROWS = "coalesce(sum(x.n) FILTER (WHERE s.kind = 'won'), 0)"

OPEN_VALUE = Measure(
    _OPEN + " AND d.currency = :currency",
    "sum(d.amount)",
    None,
    _DEAL_DIMENSIONS,
    rolled=Measure(
        _OPEN_TOTALS + " AND r.currency = :currency",
        "sum(r.amount)",
        None,
        _OPEN_DIMENSIONS,
        count="sum(r.deals)",
    ),
)
WEIGHTED_VALUE = Measure(
    _OPEN + " AND d.currency = :currency",
    "sum(d.amount * s.probability / 100.0)",
    None,
    _DEAL_DIMENSIONS,
    rolled=Measure(
        _OPEN_TOTALS + " AND r.currency = :currency",
        "sum(r.amount * s.probability / 100.0)",
        None,
        _OPEN_DIMENSIONS,
        count="sum(r.deals)",
    ),
)
WIN_RATE = Measure(
    _CLOSED,
    "count(*) FILTER (WHERE s.kind = 'won')::numeric / NULLIF(count(*), 0)",
    "d.closed_at",
    _DEAL_DIMENSIONS,
    rolled=Measure(
        _CLOSE_DAYS,
        f"{_WON_ROWS}::numeric / NULLIF(sum(x.n), 0)",
        "x.at",
        _CLOSE_DIMENSIONS,
        count="sum(x.n)",
    ),
)
DEAL_SIZE = Measure(
    _WON + " AND d.currency = :currency",
    "avg(d.amount)",
    "d.closed_at",
    _DEAL_DIMENSIONS,
    rolled=Measure(
        _CLOSE_DAYS + " AND s.kind = 'won' AND x.currency = :currency",
        "sum(x.amount) / NULLIF(sum(x.n), 0)",
        "x.at",
        _CLOSE_DIMENSIONS,
        count="sum(x.n)",
    ),
)
SALES_CYCLE = Measure(
    _WON,
    "avg(extract(epoch FROM d.closed_at - d.created_at)) / 86400",
    "d.closed_at",
    _DEAL_DIMENSIONS,
    rolled=Measure(
        _CLOSE_DAYS + " AND s.kind = 'won'",
        "sum(x.cycle_seconds) / NULLIF(sum(x.n), 0) / 86400",
        "x.at",
        _CLOSE_DIMENSIONS,
        count="sum(x.n)",
    ),
)


async def pipeline_velocity(
    session: AsyncSession, principal: Principal, params: KpiParams, currency: str
) -> Decimal | None:
    """One statement over the deal rollups: open deals now, and win rate, deal size and cycle
    over the range; every part from deals in ``currency`` only, so one currency's deals never
    weigh in another's figure."""
    start, end = params.range
    row = (
        await session.execute(
            text(
                f"SELECT (SELECT coalesce(sum(r.deals), 0) {_OPEN_TOTALS}"
                " AND r.currency = :currency),"
                f" {_WON_ROWS}::numeric / NULLIF(sum(x.n), 0),"
                f" sum(x.amount) FILTER (WHERE s.kind = 'won') / NULLIF({_WON_ROWS}, 0),"
                f" sum(x.cycle_seconds) FILTER (WHERE s.kind = 'won') / NULLIF({_WON_ROWS}, 0)"
                f" / 86400 {_CLOSE_DAYS} AND x.currency = :currency"
            ),
            {
                "workspace_id": principal.workspace_id,
                "start": start,
                "end": end,
                "currency": currency,
                **day_binds(start, end),
            },
        )
    ).one()
    open_deals, win_rate, size, cycle = row
    if None in (win_rate, size, cycle) or not cycle:
        return None
    return rounded(open_deals * win_rate * size / cycle)


async def funnel(session: AsyncSession, principal: Principal, params: FunnelParams) -> KpiResult:
    start, end = params.range
    rows = (
        await session.execute(
            text(
                """
                SELECT s.name, s.position, (
                  -- A deal's first entry in the range is the one whose previous entry into
                  -- the stage is earlier or none: one per deal, from the index alone.
                  SELECT count(*) FROM deal_stage_changes h
                  WHERE h.workspace_id = s.workspace_id AND h.to_stage_id = s.id
                    AND h.changed_at >= :start AND h.changed_at < :end
                    AND (h.previous_entry_at IS NULL OR h.previous_entry_at < :start))
                FROM pipeline_stages s
                WHERE s.workspace_id = :workspace_id AND s.pipeline_id = :pipeline_id
                  AND s.kind <> 'lost'
                ORDER BY s.position
                """
            ),
            {
                "workspace_id": principal.workspace_id,
                "pipeline_id": params.pipeline_id,
                "start": start,
                "end": end,
            },
        )
    ).all()
    if not rows:
        raise NotFound(f"No pipeline {params.pipeline_id}.")
    groups = []
    previous: int | None = None
    for name, _, reached in rows:
        ratio = None if not previous else rounded(Decimal(reached) / previous)
        groups.append(KpiGroup(key=name, value=Decimal(reached), count=reached, ratio=ratio))
        previous = reached
    first, last = rows[0][2], rows[-1][2]
    overall = rounded(Decimal(last) / first) if first else None
    return KpiResult(kpi="funnel", unit="ratio", start=start, end=end, value=overall, groups=groups)


def _month_binds(start: datetime, end: datetime) -> dict[str, Any]:
    """Expected close dates in [start's UTC date, end's UTC date): the whole months between
    come from the rollup, the partial ones at either end from raw deals."""
    first, last = start.astimezone(UTC).date(), end.astimezone(UTC).date()
    first_month = (
        first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    )
    head_end = min(first_month, last)
    return {
        "first_date": first,
        "last_date": last,
        "first_month": first_month,
        "last_month": last.replace(day=1),
        "head_end": head_end,
        "tail_start": max(last.replace(day=1), head_end),
    }


async def forecast(
    session: AsyncSession, principal: Principal, params: ForecastParams
) -> KpiResult:
    start, end = params.range
    rows = await session.execute(
        text(
            # Grouped by month first, formatted after: to_char per row is costly.
            "SELECT to_char(month, 'YYYY-MM'), sum(value), sum(count) FROM ("
            " SELECT r.close_month AS month, sum(r.amount * s.probability / 100.0) AS value,"
            f" sum(r.deals) AS count {_OPEN_TOTALS} AND r.currency = :currency"
            " AND r.close_month >= :first_month AND r.close_month < :last_month GROUP BY 1"
            " UNION ALL SELECT date_trunc('month', d.expected_close_date)::date,"
            f" sum(d.amount * s.probability / 100.0), count(*) {_OPEN}"
            " AND d.currency = :currency AND ((d.expected_close_date >= :first_date"
            " AND d.expected_close_date < :head_end) OR (d.expected_close_date >= :tail_start"
            " AND d.expected_close_date < :last_date)) GROUP BY 1"
            ") AS months GROUP BY month ORDER BY month"
        ),
        {
            "workspace_id": principal.workspace_id,
            "currency": params.currency,
            **_month_binds(start, end),
        },
    )
    groups = [
        KpiGroup(key=month, value=rounded(value), count=count)
        for month, value, count in rows
        if count  # months whose rollup steps sum to no deal
    ]
    total = sum((group.value or Decimal(0) for group in groups), Decimal(0))
    return KpiResult(
        kpi="forecast",
        unit="money",
        currency=params.currency,
        start=start,
        end=end,
        value=rounded(total),
        groups=groups,
    )
