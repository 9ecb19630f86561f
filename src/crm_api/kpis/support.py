"""Service KPIs: surveys, response and resolution times, SLA compliance, ticket volume and
sentiment."""

from .measure import AS_TIME, WHOLE_DAYS, Measure, partial_days

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
    f" AND {WHOLE_DAYS}"
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


_RESPONDED = "first_responded_at IS NOT NULL"
# Whole UTC months from the histograms, the rest of the range bucketed from raw rows.
_RESPONSE_BUCKETS = (
    "FROM (SELECT (r.month::timestamp AT TIME ZONE 'UTC') AS at, r.channel, r.priority, r.bucket,"
    " r.tickets AS n FROM ticket_response_months r WHERE r.workspace_id = :workspace_id"
    " AND r.month >= :first_month AND r.month < :last_month"
    " UNION ALL SELECT t.created_at, t.channel, t.priority,"
    " log_bucket(date_part('epoch', t.first_responded_at - t.created_at)), 1 FROM tickets t"
    f" WHERE t.workspace_id = :workspace_id AND t.{_RESPONDED}"
    f" AND {partial_days('t.created_at')}) AS x"
)


def first_response_time(statistic: str) -> Measure:
    return Measure(
        f"{_CREATED} AND t.{_RESPONDED}",
        f"percentile_cont({_PERCENTILE[statistic]}) WITHIN GROUP"
        " (ORDER BY date_part('epoch', t.first_responded_at - t.created_at))",
        "t.created_at",
        _TICKET_DIMENSIONS,
        approximate=Measure(
            _RESPONSE_BUCKETS,
            _PERCENTILE[statistic],
            "x.at",
            {"channel": "x.channel", "priority": "x.priority"},
        ),
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
    f" AND {WHOLE_DAYS}"
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
        _TICKET_DAYS,
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
        f" WHERE r.workspace_id = :workspace_id AND {WHOLE_DAYS}"
        " UNION ALL SELECT i.occurred_at, i.kind, 1, (i.sentiment <= -0.05)::int"
        " FROM interactions i WHERE i.workspace_id = :workspace_id AND i.direction = 'inbound'"
        f" AND i.sentiment IS NOT NULL AND {partial_days('i.occurred_at')}) AS x",
        "sum(x.negative)::numeric / NULLIF(sum(x.n), 0)",
        "x.at",
        {"kind": "x.kind"},
        count="sum(x.n)",
    ),
)
