"""First-response time from the monthly log-bucket histograms (migration 0034): every bucket
holds its durations within 1%, the kept table follows every kind of ticket write, and the
answers (value, series, groups) are within 1% of exact percentiles computed here from the
tickets, flagged approximate exactly when they come from the histograms."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.models.rollup import compaction, ticket_response_months
from tests.factories import Workspace, make_contact, make_member, make_ticket
from tests.kpis.test_rollups import KEPT, _delete, _patch, _rows, assert_rollups_match, at

GROWTH = 101 / 99
DURATIONS = [
    0.0,
    1e-6,
    0.0005,
    0.5,
    1.0,
    GROWTH**10,
    59.999999,
    60.0,
    3600.0,
    86400.0 * 3.3,
    86400.0 * 365 * 80,
    -1.0,
    -7200.5,
]


async def test_every_bucket_holds_its_durations_within_one_percent(
    connection: AsyncConnection,
) -> None:
    rows = (
        await connection.execute(
            text(
                "SELECT d, log_bucket(d), log_bucket_seconds(log_bucket(d))"
                " FROM unnest(CAST(:durations AS double precision[])) AS d ORDER BY d"
            ),
            {"durations": DURATIONS},
        )
    ).all()
    buckets = [bucket for _, bucket, _ in rows]
    assert buckets == sorted(buckets)  # buckets sort as the durations do
    for duration, bucket, middle in rows:
        assert abs(middle - duration) <= 0.01 * abs(duration) * (1 + 1e-9), duration
        if duration > 0:  # d in (g^(b-1), g^b]
            exponent = bucket - 2000
            assert GROWTH ** (exponent - 1) < duration * (1 + 1e-12), duration
            assert duration <= GROWTH**exponent * (1 + 1e-12), duration
    assert [bucket for duration, bucket, _ in rows if duration == 0] == [0]


# Exact percentiles, the oracle: percentile_cont over the tickets, per grouping.
EXACT = (
    "SELECT {period} AS period, {key} AS key, percentile_cont(CAST(:fraction AS float8))"
    " WITHIN GROUP (ORDER BY extract(epoch FROM first_responded_at - created_at)) FROM tickets"
    " WHERE workspace_id = :ws AND first_responded_at IS NOT NULL AND created_at >= :start"
    " AND created_at < :end GROUP BY 1, 2"
)
RANGES = [
    ("2026-01-01", "2026-04-01", True),
    ("2026-01-01", "2026-02-01", True),
    ("2025-12-20T06:00:00Z", "2026-03-10T00:00:00Z", True),
    ("2026-01-15", "2026-03-01", True),
    ("2026-01-15", "2026-02-15", False),  # no whole month: exact
    ("2026-02-03T10:00:00+02:00", "2026-02-04T00:00:00Z", False),
    ("2026-05-01", "2026-07-01", True),  # nothing there
]


def within(got: str | None, exact: Any) -> bool:
    if got is None or exact is None:
        return got is None and exact is None
    exact = Decimal(str(exact))
    return abs(Decimal(got) - exact) <= Decimal("0.01") * abs(exact) + Decimal("0.0001")


async def test_first_response_time_from_histograms_follows_writes_and_stays_within_one_percent(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    rng = random.Random(34)  # noqa: S311 (seeded test data)
    agents = [await make_member(client, workspace, role="agent") for _ in range(2)]
    requesters = [await make_contact(client, workspace) for _ in range(4)]
    tickets = []
    for n in range(48):
        opened = datetime(2025, 12, 20, tzinfo=UTC) + timedelta(
            days=rng.randrange(0, 100), hours=rng.randrange(0, 24)
        )
        with at(opened.isoformat()):
            ticket = await make_ticket(
                client,
                workspace,
                requester_id=rng.choice(requesters)["id"],
                channel=rng.choice(["email", "chat", "phone"]),
                priority=rng.choice(["low", "normal", "urgent"]),
                assignee_id=rng.choice(agents)["id"],
            )
        tickets.append(ticket)
        if n % 8 == 7:
            continue  # never answered
        waited = timedelta(seconds=0 if n % 11 == 0 else rng.choice([30, 600, 5400, 90000]))
        with at((opened + waited + timedelta(seconds=rng.randrange(0, 60))).isoformat()):
            response = await client.post(
                f"/v1/tickets/{ticket['id']}/messages",
                json={"body": "Looking.", "author_member_id": rng.choice(agents)["id"]},
                headers=workspace.headers,
            )
            assert response.status_code == 201, response.text
    await assert_rollups_match(connection, workspace)
    assert await _rows(connection, KEPT["ticket_response_months"], workspace)
    # Updates that move a ticket between keys, and those that do not.
    for ticket in tickets[:6]:
        await _patch(client, workspace, f"/v1/tickets/{ticket['id']}", {"priority": "high"})
    await _patch(client, workspace, f"/v1/tickets/{tickets[6]['id']}", {"subject": "Still broken"})
    await assert_rollups_match(connection, workspace)
    # A merge moves the source's tickets; an erasure rewrites the person's tickets.
    merged = await client.post(
        f"/v1/contacts/{requesters[0]['id']}/merge",
        json={"source_id": requesters[1]["id"]},
        headers=workspace.headers,
    )
    assert merged.status_code == 200, merged.text
    await assert_rollups_match(connection, workspace)
    erased = await client.post(
        f"/v1/contacts/{requesters[2]['id']}/erase", headers=workspace.headers
    )
    assert erased.status_code in (200, 202, 204), erased.text
    await assert_rollups_match(connection, workspace)
    for ticket in tickets[7:9]:
        current = await client.get(f"/v1/tickets/{ticket['id']}", headers=workspace.headers)
        archived = await client.post(
            f"/v1/tickets/{ticket['id']}/archive",
            headers={**workspace.headers, "If-Match": current.headers["ETag"]},
        )
        assert archived.status_code == 200, archived.text
        await _delete(client, workspace, f"/v1/tickets/{ticket['id']}")
    await assert_rollups_match(connection, workspace)

    mismatches: list[Any] = []
    approximated = 0

    async def compare() -> None:
        nonlocal approximated
        for start, end, from_histograms in RANGES:
            for interval in (None, "month", "week"):
                for group_by in (None, "channel", "priority", "assignee"):
                    for statistic, fraction in (("median", 0.5), ("p90", 0.9)):
                        query = {"start": start, "end": end, "statistic": statistic}
                        query |= {"interval": interval} if interval else {}
                        query |= {"group_by": group_by} if group_by else {}
                        response = await client.get(
                            "/v1/kpis/service/first-response-time",
                            params=query,
                            headers=workspace.headers,
                        )
                        assert response.status_code == 200, response.text
                        got = response.json()
                        flagged = from_histograms and interval != "week" and group_by != "assignee"
                        approximated += flagged
                        if got["approximate"] is not flagged:
                            mismatches.append(("flag", query, got["approximate"]))
                        await check(got, query, fraction)

    async def check(got: Any, query: dict[str, Any], fraction: float) -> None:
        binds = {
            "ws": workspace.id,
            "fraction": fraction,
            "start": datetime.fromisoformat(query["start"].replace("Z", "+00:00")),
            "end": datetime.fromisoformat(query["end"].replace("Z", "+00:00")),
        }
        for name in ("start", "end"):
            if binds[name].tzinfo is None:
                binds[name] = binds[name].replace(tzinfo=UTC)
        interval, group_by = query.get("interval"), query.get("group_by")
        period = (
            f"date_trunc('{interval}', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            if interval
            else "NULL::timestamptz"
        )
        key = {"channel": "channel", "priority": "priority", "assignee": "assignee_id::text"}
        whole = EXACT.format(period="NULL::timestamptz", key="NULL")
        total = (await connection.execute(text(whole), binds)).first()
        wanted = None if total is None else total[2]
        if not within(got["value"], wanted):
            mismatches.append(("value", query, got["value"], wanted))
        if interval:
            sql = EXACT.format(period=period, key="NULL")
            by_period = {p: v for p, _, v in await connection.execute(text(sql), binds)}
            for point in got["series"]:
                wanted = by_period.get(datetime.fromisoformat(point["period_start"]))
                if not within(point["value"], wanted):
                    mismatches.append(("series", query, point, wanted))
        if group_by:
            sql = EXACT.format(period="NULL::timestamptz", key=key[group_by])
            by_key = {k: v for _, k, v in await connection.execute(text(sql), binds)}
            if {g["key"] for g in got["groups"]} != set(by_key):
                mismatches.append(("groups", query, got["groups"], by_key))
            for group in got["groups"]:
                if not within(group["value"], by_key.get(group["key"])):
                    mismatches.append(("group", query, group, by_key.get(group["key"])))

    await compare()
    # The worker's compaction: one row a key, the same answers.
    await connection.execute(text(compaction(ticket_response_months)))
    await assert_rollups_match(connection, workspace)
    await compare()
    assert not mismatches, mismatches[:5]
    assert approximated > 50
