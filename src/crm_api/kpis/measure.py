"""KPIs, computed in PostgreSQL: one aggregate per answer, per series period, or per group.

A measure is a FROM/WHERE clause over the workspace's rows, an aggregate, the time column that
places rows in series periods, and the expressions it can be grouped by. Every piece of SQL
is a constant of the KPI modules (`sales`, `customers`, `support`); only values travel as bind
parameters.

Measures that add up by day also have a `rolled` form: whole UTC days come from the daily
rollups (`models/rollup.py`, kept by triggers in each write's transaction) and only the partial
days at either end of the range from raw rows, so a year costs a few hundred rollup rows.
Distinct buyers come from the chained `buyer_days` (see `_per_buyer`).

Percentiles do not add up by day. A measure with an `approximate` form reads log-bucket
histograms kept per UTC month (`ticket_response_months`, migration 0034) for the whole months
of the range and buckets raw rows for the rest; its answer is within 1% of the exact one and
says it is approximate. Ranges without a whole month, and series by day or week, stay exact.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal

from .schemas import Grouped, KpiGroup, KpiParams, KpiPoint, KpiResult

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
    # The same percentile from log-bucket histograms: `source` yields `x.bucket` and `x.n` (the
    # rows in the bucket) for whole months [:first_month, :last_month) and raw rows for the
    # rest, `value` is the fraction (0.5 for the median). See `_percentiles`.
    approximate: "Measure | None" = None

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


def day_binds(start: datetime, end: datetime) -> dict[str, Any]:
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


def month_binds(start: datetime, end: datetime) -> dict[str, Any] | None:
    """Where the monthly histograms take over from raw rows, as `day_binds`; None when the
    range holds no whole UTC month."""

    def month_of(instant: datetime) -> datetime:
        return instant.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    head_end = month_of(start)
    if head_end != start:
        year, month = divmod(head_end.month, 12)
        head_end = head_end.replace(year=head_end.year + year, month=month + 1)
    tail_start = month_of(end)
    if tail_start <= head_end:
        return None
    return {
        "first_month": head_end.date(),
        "last_month": tail_start.date(),
        "head_end": head_end,
        "tail_start": tail_start,
    }


class Answer(NamedTuple):
    value: Decimal | None
    series: list[KpiPoint] | None
    groups: list[KpiGroup] | None
    approximate: bool = False


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
) -> Answer:
    """The measure's value (rounded to 4 places unless ``exact``), series and groups, from one
    scan of its rows: GROUPING SETS give the total, each period and each group together."""
    start, end = params.range
    values = {"workspace_id": principal.workspace_id, "start": start, "end": end, **(binds or {})}
    group_by = getattr(params, "group_by", None) if isinstance(params, Grouped) else None
    if measure.per_buyer and group_by is None and at_midnight(start) and at_midnight(end):
        return Answer(*await _per_buyer(session, measure.per_buyer, params, values))
    histogram = measure.approximate
    months = month_binds(start, end) if histogram else None
    if (
        histogram
        and months
        and params.interval in (None, "month")
        and (group_by is None or group_by in histogram.dimensions)
    ):
        measure = histogram
        values.update(months)
    for rolled in (measure.rolled, measure.rolled_by):
        if rolled and (group_by is None or group_by in rolled.dimensions):
            measure = rolled
            values.update(day_binds(start, end))
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
    approximate = measure is histogram
    if approximate:
        sets = ", ".join(
            ["(x.bucket)", *(f"({expression}, x.bucket)" for expression in expressions)]
        )
        statement = _percentiles(measure, period_sql, key_sql, level_sql, sets)
    else:
        statement = (
            f"SELECT {period_sql} AS period, {key_sql} AS key, {measure.value} AS value,"
            f" {measure.count} AS rows, {level_sql} AS level"
            f" {measure.source} GROUP BY GROUPING SETS ({sets})"
        )
    rows = await session.execute(text(statement), values)
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
        elif count:  # a rollup's steps can sum to nothing for a key: no group, as raw rows
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
    return Answer(total, series, groups if dimension else None, approximate)


def _percentiles(measure: Measure, period: str, key: str, level: str, sets: str) -> str:
    """The percentile `measure.value` of each grouping from its buckets' counts, as
    percentile_cont would give it from the values: the two ranks around fraction x (n - 1)
    (0-based), each read as the middle of the bucket where the running count passes it, and
    interpolated. Each middle is within 1% of the value it stands for, so the answer is too."""
    rank = f"{measure.value} * (total - 1)"
    return (
        f"WITH buckets AS (SELECT {period} AS period, {key} AS key, {level} AS level, x.bucket,"
        f" sum(x.n) AS n {measure.source} GROUP BY GROUPING SETS ({sets})),"
        " running AS (SELECT *, sum(n) OVER (PARTITION BY level, period, key ORDER BY bucket)"
        " AS passed, sum(n) OVER (PARTITION BY level, period, key) AS total FROM buckets"
        " WHERE n <> 0)"  # a bucket's steps can sum to nothing
        " SELECT period, key, low + (high - low) * (rank - floor(rank)) AS value, total AS rows,"
        " level FROM (SELECT period, key, level, total, max(rank) AS rank,"
        f" log_bucket_seconds(min(bucket) FILTER (WHERE passed > floor({rank}))) AS low,"
        f" log_bucket_seconds(min(bucket) FILTER (WHERE passed > ceil({rank}))) AS high"
        f" FROM (SELECT *, {rank} AS rank FROM running) AS ranked"
        " GROUP BY period, key, level, total) AS percentiles"
    )


def at_midnight(instant: datetime) -> bool:
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
    answer: Answer | tuple[Decimal | None, list[KpiPoint] | None, list[KpiGroup] | None],
    currency: str | None = None,
) -> KpiResult:
    start, end = params.range
    value, series, groups = answer[:3]
    return KpiResult(
        kpi=kpi,
        unit=unit,
        currency=currency,
        start=start,
        end=end,
        value=value,
        series=series,
        groups=groups,
        approximate=isinstance(answer, Answer) and answer.approximate,
    )
