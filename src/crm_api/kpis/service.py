"""KPIs, computed in PostgreSQL: one aggregate per answer, per series period, or per group.

A measure is a FROM/WHERE clause over the workspace's rows, an aggregate, the time column that
places rows in series periods, and the expressions it can be grouped by. Every piece of SQL
here is a constant of this module; only values travel as bind parameters.

Measures that add up by day also have a `rolled` form: whole UTC days come from the daily
rollups (`models/rollup.py`, kept by triggers in each write's transaction) and only the partial
days at either end of the range from raw rows, so a year costs a few hundred rollup rows.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.config import Settings
from crm_api.core.errors import NotFound

from .schemas import (
    ConversionParams,
    ForecastParams,
    FunnelParams,
    Grouped,
    KpiGroup,
    KpiParams,
    KpiPoint,
    KpiResult,
)

PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Measure:
    source: str  # FROM ... WHERE ..., with :workspace_id, :start, :end and any extra binds
    value: str  # an aggregate
    time: str | None = None  # the column placing a row in a series period
    dimensions: dict[str, str] = field(default_factory=dict)
    count: str = "count(*)"  # the rows behind a value, as groups report it
    rolled: "Measure | None" = None  # the same answer from daily rollups, for its dimensions
    rolled_by: "Measure | None" = None  # and for breakdowns the first lacks, where it has them
    # A sum over buyers' days (`b.total`, `b.orders`) per distinct buyer: answered from
    # `buyer_days` when the range is whole UTC days and there is no breakdown.
    per_buyer: str | None = None

    @property
    def is_sum(self) -> bool:
        """A plain sum (of amounts, of tickets): nothing to add up is 0, not "no data"."""
        return self.value.startswith("sum(") and "NULLIF" not in self.value


# A rolled measure's source: rollup rows for the whole days [:first_day, :last_day) and raw
# rows for [:start, :head_end) and [:tail_start, :end).
WHOLE_DAYS = "r.day >= :first_day AND r.day < :last_day"
AS_TIME = "(r.day::timestamp AT TIME ZONE 'UTC')"


def partial_days(column: str) -> str:
    return (
        f"(({column} >= :start AND {column} < :head_end)"
        f" OR ({column} >= :tail_start AND {column} < :end))"
    )


def _day_binds(start: datetime, end: datetime) -> dict[str, Any]:
    """Where the rollups take over from raw rows: from the first UTC midnight at or after
    `start` to the last at or before `end` (none when the range lies within one day)."""
    midnight = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    head_end = midnight if midnight == start else midnight + timedelta(days=1)
    tail_start = max(
        end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0), head_end
    )
    return {
        "first_day": head_end.date(),
        "last_day": tail_start.date(),
        "head_end": min(head_end, end),
        "tail_start": tail_start,
    }


def rounded(value: Any) -> Decimal | None:
    if value is None:
        return None
    exact = Decimal(value).quantize(PLACES)
    # Without trailing zeros, and never in exponent notation (2E+3).
    return exact.to_integral_value() if exact == exact.to_integral_value() else exact.normalize()


def _periods(start: datetime, end: datetime, interval: str) -> list[datetime]:
    """The UTC period starts covering [start, end), as date_trunc gives them."""
    first = start.astimezone(UTC)
    if interval == "month":
        current = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        current = first.replace(hour=0, minute=0, second=0, microsecond=0)
        if interval == "week":
            current -= timedelta(days=current.weekday())
    periods = []
    while current < end:
        periods.append(current)
        if interval == "month":
            year, month = divmod(current.month, 12)
            current = current.replace(year=current.year + year, month=month + 1)
        else:
            current += timedelta(days=7 if interval == "week" else 1)
    return periods


async def evaluate(
    session: AsyncSession,
    principal: Principal,
    measure: Measure,
    params: KpiParams,
    binds: dict[str, Any] | None = None,
    *,
    exact: bool = False,
) -> tuple[Decimal | None, list[KpiPoint] | None, list[KpiGroup] | None]:
    """The measure's value (rounded to 4 places unless ``exact``), series and groups, from one
    scan of its rows: GROUPING SETS give the total, each period and each group together."""
    start, end = params.range
    values = {"workspace_id": principal.workspace_id, "start": start, "end": end, **(binds or {})}
    group_by = getattr(params, "group_by", None) if isinstance(params, Grouped) else None
    if measure.per_buyer and group_by is None and _at_midnight(start) and _at_midnight(end):
        return await _per_buyer(session, measure.per_buyer, params, values)
    for rolled in (measure.rolled, measure.rolled_by):
        if rolled and (group_by is None or group_by in rolled.dimensions):
            measure = rolled
            values.update(_day_binds(start, end))
            break
    interval = params.interval if measure.time else None
    dimension = measure.dimensions.get(group_by) if group_by else None
    expressions = []
    if interval:
        # Inlined, not bound: the same expression must appear three times, and `interval` is
        # one of day, week, month (validated). date_trunc's own time zone argument would do
        # the same at a third of the speed (measured on 250k rows).
        expressions.append(
            f"date_trunc('{interval}', {measure.time} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        )
    if dimension:
        expressions.append(f"({dimension})::text")
    period_sql = expressions[0] if interval else "NULL"
    key_sql = expressions[-1] if dimension else "NULL"
    level_sql = f"GROUPING({', '.join(expressions)})" if expressions else "0"
    sets = ", ".join(["()", *(f"({expression})" for expression in expressions)])
    rows = await session.execute(
        text(
            f"SELECT {period_sql} AS period, {key_sql} AS key, {measure.value} AS value,"
            f" {measure.count} AS rows, {level_sql} AS level"
            f" {measure.source} GROUP BY GROUPING SETS ({sets})"
        ),
        values,
    )
    everything = (1 << len(expressions)) - 1  # GROUPING's bits when all are aggregated away
    period_bit = 1 << (len(expressions) - 1) if interval else 0
    total: Decimal | None = None
    by_period: dict[datetime, Decimal | None] = {}
    groups: list[KpiGroup] = []
    for period, key, value, count, level in rows:
        if level == everything:
            total = (None if value is None else Decimal(value)) if exact else rounded(value)
        elif interval and not level & period_bit:
            by_period[period] = rounded(value)
        else:
            groups.append(KpiGroup(key=key, value=rounded(value), count=count))
    series = None
    if interval:
        series = [
            KpiPoint(period_start=period, value=by_period.get(period))
            for period in _periods(start, end, interval)
        ]
    if dimension:
        groups.sort(key=lambda group: (group.value is None, -(group.value or 0), group.key or "~"))
    if measure.is_sum:
        total = Decimal(0) if total is None else total
        for point in series or ():
            point.value = Decimal(0) if point.value is None else point.value
    return total, series, groups if dimension else None


def _at_midnight(instant: datetime) -> bool:
    return instant.astimezone(UTC).timetz().replace(tzinfo=None) == datetime.min.time()


# A buyer's first day in the range: the one whose previous day (in the currency) is before it.
_FIRST_IN_RANGE = "(b.previous_day IS NULL OR b.previous_day < :first_day)"
_BUYER_DAYS = (
    "FROM buyer_days b WHERE b.workspace_id = :workspace_id AND b.currency = :currency"
    " AND b.day >= :first_day AND b.day < :last_day"
)


async def _per_buyer(
    session: AsyncSession, figure: str, params: KpiParams, values: dict[str, Any]
) -> tuple[Decimal | None, list[KpiPoint] | None, list[KpiGroup] | None]:
    """sum(figure) / distinct buyers over the range, and over each period of the series: in a
    period, a buyer's first day is the one whose previous day is before the period (or the
    range, where the range starts later)."""
    start, end = params.range
    values = {
        **values,
        "first_day": start.astimezone(UTC).date(),
        "last_day": end.astimezone(UTC).date(),
    }
    whole = f"sum({figure})::numeric / NULLIF(count(*) FILTER (WHERE {_FIRST_IN_RANGE}), 0)"
    if not params.interval:
        return (
            rounded(await session.scalar(text(f"SELECT {whole} {_BUYER_DAYS}"), values)),
            None,
            None,
        )
    # One pass grouped by period: each buyer's first day in the range lies in one period, so
    # the periods' counts of those add up to the range's distinct buyers.
    truncated = f"date_trunc('{params.interval}', b.day::timestamp)"
    since = f"greatest({truncated}::date, :first_day)"
    rows = await session.execute(
        text(
            "SELECT period AT TIME ZONE 'UTC', figure / NULLIF(buyers, 0),"
            " sum(figure) OVER () / NULLIF(sum(first) OVER (), 0) FROM ("
            f"SELECT {truncated} AS period, sum({figure})::numeric AS figure, count(*) FILTER"
            f" (WHERE b.previous_day IS NULL OR b.previous_day < {since}) AS buyers,"
            f" count(*) FILTER (WHERE {_FIRST_IN_RANGE}) AS first {_BUYER_DAYS} GROUP BY 1"
            ") AS periods"
        ),
        values,
    )
    total: Decimal | None = None
    by_period: dict[datetime, Decimal | None] = {}
    for period, value, whole_value in rows:
        by_period[period] = rounded(value)
        total = rounded(whole_value)
    series = [
        KpiPoint(period_start=period, value=by_period.get(period))
        for period in _periods(start, end, params.interval)
    ]
    return total, series, None


def result(
    kpi: str,
    unit: Any,
    params: KpiParams,
    answer: tuple[Decimal | None, list[KpiPoint] | None, list[KpiGroup] | None],
    currency: str | None = None,
) -> KpiResult:
    start, end = params.range
    value, series, groups = answer
    return KpiResult(
        kpi=kpi,
        unit=unit,
        currency=currency,
        start=start,
        end=end,
        value=value,
        series=series,
        groups=groups,
    )


# --- Sales -------------------------------------------------------------------------------------

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
    " WHERE r.workspace_id = :workspace_id AND r.deals > 0 AND s.kind = 'open'"
)
_OPEN_DIMENSIONS = {
    "owner": "r.owner_id::text",
    "pipeline": "s.pipeline_id::text",
    "lead_source": "r.source",
}
_CLOSE_DAYS = (
    f"FROM (SELECT {AS_TIME} AS at, r.stage_id, r.currency, r.owner_id, r.source, r.deals AS n,"
    " r.amount, r.cycle_seconds FROM deal_close_days r WHERE r.workspace_id = :workspace_id"
    f" AND r.deals > 0 AND {WHOLE_DAYS}"
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
                **_day_binds(start, end),
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
        KpiGroup(key=month, value=rounded(value), count=count) for month, value, count in rows
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


# --- Customers ---------------------------------------------------------------------------------

# Left joins on primary keys: PostgreSQL drops them from the plan when no column is used.
_ORDER_DIMENSIONS = {
    "owner": "p.owner_id",
    "lead_source": "p.lead_source",
    "industry": "c.industry",
}
_SALES = (
    "FROM orders o"
    " LEFT JOIN contacts p ON p.workspace_id = o.workspace_id AND p.id = o.contact_id"
    " LEFT JOIN companies c ON c.workspace_id = o.workspace_id AND c.id = o.company_id"
    " WHERE o.workspace_id = :workspace_id AND o.status IN ('paid', 'fulfilled')"
    " AND o.currency = :currency AND o.placed_at >= :start AND o.placed_at < :end"
)
LIFETIME_VALUE = Measure(
    _SALES,
    "sum(o.total) / NULLIF(count(DISTINCT o.contact_id), 0)",
    "o.placed_at",
    _ORDER_DIMENSIONS,
    per_buyer="b.total",
)
_PAID = "status IN ('paid', 'fulfilled')"
# Whole days from the buyers' days summed per owner and lead source (the contact's now);
# partial days at either end from raw orders.
_BUYER_SALES = (
    f"FROM (SELECT {AS_TIME} AS at, r.owner_id, r.lead_source, r.orders AS n, r.total"
    " FROM buyer_source_days r WHERE r.workspace_id = :workspace_id"
    f" AND r.currency = :currency AND r.orders > 0 AND {WHOLE_DAYS}"
    " UNION ALL SELECT o.placed_at, p.owner_id, p.lead_source, 1, o.total FROM orders o"
    " LEFT JOIN contacts p ON p.workspace_id = o.workspace_id AND p.id = o.contact_id"
    f" WHERE o.workspace_id = :workspace_id AND o.{_PAID} AND o.currency = :currency"
    f" AND {partial_days('o.placed_at')}) AS x"
)
_BUYER_DIMENSIONS = {"owner": "x.owner_id", "lead_source": "x.lead_source"}
ORDER_VALUE = Measure(
    _SALES,
    "avg(o.total)",
    "o.placed_at",
    _ORDER_DIMENSIONS,
    rolled=Measure(
        f"FROM (SELECT {AS_TIME} AS at, r.orders AS n, r.total FROM order_days r"
        f" WHERE r.workspace_id = :workspace_id AND r.{_PAID} AND r.currency = :currency"
        f" AND r.orders > 0 AND {WHOLE_DAYS}"
        " UNION ALL SELECT o.placed_at, 1, o.total FROM orders o"
        f" WHERE o.workspace_id = :workspace_id AND o.{_PAID} AND o.currency = :currency"
        f" AND {partial_days('o.placed_at')}) AS x",
        "sum(x.total) / NULLIF(sum(x.n), 0)",
        "x.at",
        count="sum(x.n)",
    ),
    rolled_by=Measure(
        _BUYER_SALES,
        "sum(x.total) / NULLIF(sum(x.n), 0)",
        "x.at",
        _BUYER_DIMENSIONS,
        count="sum(x.n)",
    ),
)
PURCHASE_FREQUENCY = Measure(
    _SALES,
    "count(*)::numeric / NULLIF(count(DISTINCT o.contact_id), 0)",
    "o.placed_at",
    _ORDER_DIMENSIONS,
    per_buyer="b.orders",
)
_PURCHASES = (
    "FROM orders o WHERE o.workspace_id = :workspace_id AND o.status IN ('paid', 'fulfilled')"
)


async def repeat_purchase_rate(
    session: AsyncSession, principal: Principal, params: KpiParams
) -> Decimal | None:
    start, end = params.range
    values = {"workspace_id": principal.workspace_id, "start": start, "end": end}
    if _at_midnight(start) and _at_midnight(end):
        # From buyers' days in any currency: a buyer's first day in the range is the one whose
        # previous day is earlier; one who bought once has one order that day and no next.
        first = "(b.previous_any_day IS NULL OR b.previous_any_day < :first_day)"
        statement = (
            f"SELECT (count(*) FILTER (WHERE {first}) - count(*) FILTER (WHERE {first}"
            " AND b.orders = 1 AND (b.next_any_day IS NULL OR b.next_any_day >= :last_day)))"
            f"::numeric / NULLIF(count(*) FILTER (WHERE {first}), 0) FROM buyer_days b"
            " WHERE b.workspace_id = :workspace_id AND b.day >= :first_day AND b.day < :last_day"
        )
        values |= {
            "first_day": start.astimezone(UTC).date(),
            "last_day": end.astimezone(UTC).date(),
        }
    else:
        statement = (
            "SELECT count(*) FILTER (WHERE orders >= 2)::numeric / NULLIF(count(*), 0) FROM ("
            f"SELECT count(*) AS orders {_PURCHASES}"
            " AND o.placed_at >= :start AND o.placed_at < :end GROUP BY o.contact_id) AS buyers"
        )
    return rounded(await session.scalar(text(statement), values))


async def active_customers(
    session: AsyncSession, principal: Principal, params: KpiParams, settings: Settings
) -> Decimal | None:
    _, end = params.range
    value = await session.scalar(
        text(
            f"SELECT count(DISTINCT o.contact_id) {_PURCHASES}"
            " AND o.placed_at >= CAST(:end AS timestamptz) - make_interval(days => :days)"
            " AND o.placed_at < :end"
        ),
        {"workspace_id": principal.workspace_id, "end": end, "days": settings.churn_inactive_days},
    )
    return rounded(value)


_ACTIVE_AT = (
    "SELECT DISTINCT o.contact_id FROM orders o WHERE o.workspace_id = :workspace_id"
    " AND o.status IN ('paid', 'fulfilled')"
    " AND o.placed_at >= CAST({at} AS timestamptz) - make_interval(days => :days)"
    " AND o.placed_at < {at}"
)
_CUSTOMER_AT = (
    "SELECT l.contact_id FROM contact_lifecycle_changes l"
    " WHERE l.workspace_id = :workspace_id AND l.changed_at < :start"
    " AND l.to_stage = 'customer' AND NOT EXISTS ("
    " SELECT 1 FROM contact_lifecycle_changes later WHERE later.workspace_id = l.workspace_id"
    " AND later.contact_id = l.contact_id AND later.changed_at > l.changed_at"
    " AND later.changed_at < :start)"
)


async def churn_rate(
    session: AsyncSession, principal: Principal, params: KpiParams, settings: Settings
) -> Decimal | None:
    """Of the customers at the start, the share lost by the end (see the endpoint)."""
    start, end = params.range
    if settings.churn_definition == "inactivity":
        statement = (
            f"WITH at_start AS ({_ACTIVE_AT.format(at=':start')}),"
            f" at_end AS ({_ACTIVE_AT.format(at=':end')})"
            " SELECT count(*) FILTER (WHERE s.contact_id NOT IN (SELECT contact_id FROM at_end))"
            "::numeric / NULLIF(count(*), 0) FROM at_start s"
        )
    else:
        statement = (
            f"WITH at_start AS ({_CUSTOMER_AT})"
            " SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM contact_lifecycle_changes c"
            " WHERE c.workspace_id = :workspace_id AND c.contact_id = s.contact_id"
            " AND c.to_stage = 'churned' AND c.changed_at >= :start AND c.changed_at < :end))"
            "::numeric / NULLIF(count(*), 0) FROM at_start s"
        )
    value = await session.scalar(
        text(statement),
        {
            "workspace_id": principal.workspace_id,
            "start": start,
            "end": end,
            "days": settings.churn_inactive_days,
        },
    )
    return rounded(value)


async def lifecycle_conversion(
    session: AsyncSession, principal: Principal, params: ConversionParams
) -> Decimal | None:
    start, end = params.range
    value = await session.scalar(
        text(
            # A contact's first entry into from_stage in the range is the one whose previous
            # entry is earlier or none; it converted when to_stage is its own stage or one the
            # contact entered at or after it (migration 0028 keeps both on every change).
            "SELECT count(*) FILTER (WHERE l.to_stage = :to_stage"
            " OR :to_stage = ANY(l.reached_after))::numeric / NULLIF(count(*), 0)"
            " FROM contact_lifecycle_changes l WHERE l.workspace_id = :workspace_id"
            " AND l.to_stage = :from_stage AND l.changed_at >= :start AND l.changed_at < :end"
            " AND (l.previous_entry_at IS NULL OR l.previous_entry_at < :start)"
        ),
        {
            "workspace_id": principal.workspace_id,
            "start": start,
            "end": end,
            "from_stage": params.from_stage,
            "to_stage": params.to_stage,
        },
    )
    return rounded(value)


# --- Service -----------------------------------------------------------------------------------

_TICKET_DIMENSIONS = {
    "channel": "t.channel",
    "priority": "t.priority",
    "assignee": "t.assignee_id::text",
}
_SURVEYS = (
    "FROM survey_responses r WHERE r.workspace_id = :workspace_id AND r.kind = :kind"
    " AND r.responded_at >= :start AND r.responded_at < :end"
)
_SURVEY_DAYS = (
    f"FROM (SELECT {AS_TIME} AS at, r.responses AS n, r.score_sum, r.promoters, r.detractors"
    " FROM survey_days r WHERE r.workspace_id = :workspace_id AND r.kind = :kind"
    f" AND r.responses > 0 AND {WHOLE_DAYS}"
    " UNION ALL SELECT s.responded_at, 1, s.score, (s.score >= 9)::int, (s.score <= 6)::int"
    " FROM survey_responses s WHERE s.workspace_id = :workspace_id AND s.kind = :kind"
    f" AND {partial_days('s.responded_at')}) AS x"
)
NPS = Measure(
    _SURVEYS,
    "(100.0 * count(*) FILTER (WHERE r.score >= 9) - 100.0 * count(*) FILTER (WHERE r.score <= 6))"
    " / NULLIF(count(*), 0)",
    "r.responded_at",
    rolled=Measure(
        _SURVEY_DAYS,
        "(100.0 * sum(x.promoters) - 100.0 * sum(x.detractors)) / NULLIF(sum(x.n), 0)",
        "x.at",
        count="sum(x.n)",
    ),
)
CSAT = Measure(
    _SURVEYS,
    "avg(r.score)",
    "r.responded_at",
    rolled=Measure(
        _SURVEY_DAYS, "sum(x.score_sum)::numeric / NULLIF(sum(x.n), 0)", "x.at", count="sum(x.n)"
    ),
)
_CREATED = (
    "FROM tickets t WHERE t.workspace_id = :workspace_id"
    " AND t.created_at >= :start AND t.created_at < :end"
)
_PERCENTILE = {"median": "0.5", "p90": "0.9"}
# Durations as double precision (date_part), not numeric (extract): the percentiles sort every
# value, and sorting doubles halved resolution time on the KPI benchmark (100 -> 50 ms).


def first_response_time(statistic: str) -> Measure:
    return Measure(
        _CREATED + " AND t.first_responded_at IS NOT NULL",
        f"percentile_cont({_PERCENTILE[statistic]}) WITHIN GROUP"
        " (ORDER BY date_part('epoch', t.first_responded_at - t.created_at))",
        "t.created_at",
        _TICKET_DIMENSIONS,
    )


def resolution_time(statistic: str) -> Measure:
    return Measure(
        "FROM tickets t WHERE t.workspace_id = :workspace_id AND t.solved_at IS NOT NULL"
        " AND t.solved_at >= :start AND t.solved_at < :end",
        f"percentile_cont({_PERCENTILE[statistic]}) WITHIN GROUP"
        " (ORDER BY date_part('epoch', t.solved_at - t.created_at))",
        "t.solved_at",
        _TICKET_DIMENSIONS,
    )


_TICKET_DAYS = (
    f"FROM (SELECT {AS_TIME} AS at, r.channel, r.priority, r.assignee_id, r.tickets,"
    " r.with_policy, r.breached FROM ticket_days r WHERE r.workspace_id = :workspace_id"
    f" AND r.tickets > 0 AND {WHOLE_DAYS}"
    " UNION ALL SELECT t.created_at, t.channel, t.priority, t.assignee_id, 1,"
    " (t.sla_policy_id IS NOT NULL)::int,"
    " (t.sla_policy_id IS NOT NULL AND t.sla_breached_at IS NOT NULL)::int"
    f" FROM tickets t WHERE t.workspace_id = :workspace_id AND {partial_days('t.created_at')}"
    ") AS x"
)
_TICKET_DAY_DIMENSIONS = {
    "channel": "x.channel",
    "priority": "x.priority",
    "assignee": "x.assignee_id::text",
}
SLA_COMPLIANCE = Measure(
    _CREATED + " AND t.sla_policy_id IS NOT NULL",
    "count(*) FILTER (WHERE t.sla_breached_at IS NULL)::numeric / NULLIF(count(*), 0)",
    "t.created_at",
    _TICKET_DIMENSIONS,
    rolled=Measure(
        _TICKET_DAYS + " WHERE x.with_policy > 0",
        "(sum(x.with_policy) - sum(x.breached))::numeric / NULLIF(sum(x.with_policy), 0)",
        "x.at",
        _TICKET_DAY_DIMENSIONS,
        count="sum(x.with_policy)",
    ),
)
TICKET_VOLUME = Measure(
    _CREATED,
    "count(*)",
    "t.created_at",
    _TICKET_DIMENSIONS,
    rolled=Measure(
        _TICKET_DAYS, "sum(x.tickets)", "x.at", _TICKET_DAY_DIMENSIONS, count="sum(x.tickets)"
    ),
)
NEGATIVE_SENTIMENT = Measure(
    "FROM interactions i WHERE i.workspace_id = :workspace_id AND i.direction = 'inbound'"
    " AND i.sentiment IS NOT NULL AND i.occurred_at >= :start AND i.occurred_at < :end",
    "count(*) FILTER (WHERE i.sentiment <= -0.05)::numeric / NULLIF(count(*), 0)",
    "i.occurred_at",
    {"kind": "i.kind"},
    rolled=Measure(
        f"FROM (SELECT {AS_TIME} AS at, r.kind, r.scored AS n, r.negative FROM sentiment_days r"
        f" WHERE r.workspace_id = :workspace_id AND r.scored > 0 AND {WHOLE_DAYS}"
        " UNION ALL SELECT i.occurred_at, i.kind, 1, (i.sentiment <= -0.05)::int"
        " FROM interactions i WHERE i.workspace_id = :workspace_id AND i.direction = 'inbound'"
        f" AND i.sentiment IS NOT NULL AND {partial_days('i.occurred_at')}) AS x",
        "sum(x.negative)::numeric / NULLIF(sum(x.n), 0)",
        "x.at",
        {"kind": "x.kind"},
        count="sum(x.n)",
    ),
)
