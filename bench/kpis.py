"""KPI benchmark: `python -m bench.kpis` (results in docs/kpi-benchmarks.md).

Seeds one workspace with 1M contacts, 100k companies, 200k deals, 2M interactions, 500k orders
and 200k tickets (COPY for the rows, then set-based SQL for the history the KPIs read: closed
deals and their stage changes, sentiment, lifecycle changes, survey responses), starts crm-api,
and times every KPI endpoint over HTTP: sequential calls after a warm-up, p50 and p95.
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import seed
from bench.run import ROOT, WORK, _database, _free_port, _process
from crm_api.core.db import libpq_url, sqlalchemy_url
from crm_api.core.embedded import drop_database, ensure_database

DATABASE = "crm_bench_kpis"
CHUNK = 100_000
START = datetime(2024, 1, 1, tzinfo=UTC)
RANGE = "start=2024-01-01T00:00:00Z&end=2025-01-01T00:00:00Z"
YEAR_MONTHLY = f"{RANGE}&interval=month"


async def _copy_orders(connection: asyncpg.Connection, workspace_id: uuid.UUID, count: int) -> None:
    contacts = [
        row["id"]
        for row in await connection.fetch(
            "SELECT id FROM contacts WHERE workspace_id = $1 LIMIT 200000", workspace_id
        )
    ]
    product = uuid.uuid4()
    await connection.execute(
        "INSERT INTO products (workspace_id, id, sku, name, price, currency, active, created_at,"
        " updated_at, version) VALUES ($1, $2, 'BENCH', 'Bench', 50, 'EUR', true, $3, $3, 1)",
        workspace_id,
        product,
        START,
    )
    statuses = ["paid", "paid", "fulfilled", "placed", "cancelled", "refunded"]
    order_columns = (
        "workspace_id",
        "id",
        "contact_id",
        "status",
        "currency",
        "total",
        "placed_at",
        "status_changed_at",
        "created_at",
        "updated_at",
        "version",
    )
    line_columns = (
        "workspace_id",
        "id",
        "order_id",
        "position",
        "product_id",
        "quantity",
        "unit_price",
    )
    for offset in range(0, count, CHUNK):
        orders, lines = [], []
        for n in range(offset, min(offset + CHUNK, count)):
            order_id = uuid.uuid4()
            quantity = 1 + n % 4
            placed = START + timedelta(seconds=n * 63)
            orders.append(
                (
                    workspace_id,
                    order_id,
                    contacts[(n * 7919) % len(contacts)],
                    statuses[n % len(statuses)],
                    "EUR",
                    Decimal(50 * quantity),
                    placed,
                    placed,
                    placed,
                    placed,
                    1,
                )
            )
            lines.append((workspace_id, uuid.uuid4(), order_id, 0, product, quantity, Decimal(50)))
        await connection.copy_records_to_table("orders", records=orders, columns=order_columns)
        await connection.copy_records_to_table("order_lines", records=lines, columns=line_columns)
        print(f"  orders: {offset + len(orders):,}", flush=True)


async def _copy_tickets(
    connection: asyncpg.Connection, workspace_id: uuid.UUID, count: int
) -> None:
    contacts = [
        row["id"]
        for row in await connection.fetch(
            "SELECT id FROM contacts WHERE workspace_id = $1 LIMIT 100000", workspace_id
        )
    ]
    columns = (
        "workspace_id",
        "id",
        "subject",
        "requester_id",
        "priority",
        "channel",
        "status",
        "tags",
        "status_changed_at",
        "first_responded_at",
        "solved_at",
        "created_at",
        "updated_at",
        "version",
        "custom_fields",
        "sla_clocks",
        "sla_breached_at",
    )
    channels = ["email", "phone", "chat", "portal", "api"]
    priorities = ["low", "normal", "normal", "high", "urgent"]
    for offset in range(0, count, CHUNK):
        rows: list[tuple[Any, ...]] = []
        for n in range(offset, min(offset + CHUNK, count)):
            created = START + timedelta(seconds=n * 157)
            solved = created + timedelta(hours=1 + n % 72) if n % 3 else None
            rows.append(
                (
                    workspace_id,
                    uuid.uuid4(),
                    f"Ticket {n}",
                    contacts[n % len(contacts)],
                    priorities[n % len(priorities)],
                    channels[n % len(channels)],
                    "solved" if solved else "open",
                    [],
                    created,
                    created + timedelta(minutes=5 + n % 300),
                    solved,
                    created,
                    created,
                    1,
                    "{}",
                    "{}",
                    created + timedelta(hours=1) if n % 10 == 0 else None,
                )
            )
        await connection.copy_records_to_table("tickets", records=rows, columns=columns)
        print(f"  tickets: {offset + len(rows):,}", flush=True)


HISTORY = (
    # Deals in won or lost stages closed 1 to 120 days after creation, owned, some with an
    # expected close date; each with the stage-change row of its current stage.
    """
    UPDATE deals d SET closed_at = d.created_at + make_interval(days => 1 + (d.amount::int % 120)),
                       expected_close_date = (d.created_at + interval '60 days')::date
    FROM pipeline_stages s
    WHERE s.workspace_id = d.workspace_id AND s.id = d.stage_id AND d.workspace_id = $1
      AND s.kind IN ('won', 'lost')
    """,
    """
    UPDATE deals SET expected_close_date = (created_at + interval '60 days')::date
    WHERE workspace_id = $1 AND closed_at IS NULL
    """,
    """
    INSERT INTO deal_stage_changes (workspace_id, id, deal_id, from_stage_id, to_stage_id,
                                    changed_at, actor_type)
    SELECT workspace_id, crm_uuid7(), id, NULL, stage_id, coalesce(closed_at, created_at), 'system'
    FROM deals WHERE workspace_id = $1
    """,
    # A third of the interactions are inbound with a sentiment score.
    """
    UPDATE interactions SET direction = 'inbound',
           sentiment = ((abs(hashtext(id::text)) % 2001) - 1000) / 1000.0
    WHERE workspace_id = $1 AND abs(hashtext(id::text)) % 3 = 0
    """,
    # Every contact entered its stage when created; a tenth of the leads became customers.
    """
    INSERT INTO contact_lifecycle_changes (workspace_id, id, contact_id, from_stage, to_stage,
                                           changed_at, actor_type)
    SELECT workspace_id, crm_uuid7(), id, NULL, lifecycle_stage, created_at, 'system'
    FROM contacts WHERE workspace_id = $1
    """,
    """
    INSERT INTO contact_lifecycle_changes (workspace_id, id, contact_id, from_stage, to_stage,
                                           changed_at, actor_type)
    SELECT workspace_id, crm_uuid7(), contact_id, 'lead', 'customer',
           changed_at + interval '20 days', 'system'
    FROM contact_lifecycle_changes
    WHERE workspace_id = $1 AND to_stage = 'lead' AND abs(hashtext(contact_id::text)) % 10 = 0
    """,
    # 100k NPS answers and a CSAT rating for every solved ticket.
    """
    INSERT INTO survey_responses (workspace_id, id, kind, contact_id, score, responded_at,
                                  created_at)
    SELECT $1, crm_uuid7(), 'nps', c.id, abs(hashtext(c.id::text)) % 11,
           c.created_at + interval '30 days', c.created_at
    FROM (SELECT id, created_at FROM contacts WHERE workspace_id = $1 LIMIT 100000) AS c
    """,
    """
    INSERT INTO survey_responses (workspace_id, id, kind, contact_id, ticket_id, score,
                                  responded_at, created_at)
    SELECT workspace_id, crm_uuid7(), 'csat', requester_id, id,
           1 + abs(hashtext(id::text)) % 5, solved_at, solved_at
    FROM tickets WHERE workspace_id = $1 AND solved_at IS NOT NULL
    """,
)


async def seed_all(admin_url: str, args: argparse.Namespace) -> seed.Seeded:
    await drop_database(admin_url, DATABASE)
    url = await ensure_database(admin_url, DATABASE)
    seeded = await seed.seed(
        url,
        contacts=args.contacts,
        companies=args.companies,
        deals=args.deals,
        interactions=args.interactions,
    )
    # Each statement planned for the table as it is: the stage-entry trigger (a row trigger)
    # otherwise keeps the plan it made while deal_stage_changes was empty, a sequential scan,
    # and inserting 200k changes went quadratic (stopped after 15 minutes; 45 s planned anew).
    connection = await asyncpg.connect(
        libpq_url(url), server_settings={"plan_cache_mode": "force_custom_plan"}
    )
    try:
        workspace_id = uuid.UUID(seeded.workspace_id)
        await _copy_orders(connection, workspace_id, args.orders)
        await _copy_tickets(connection, workspace_id, args.tickets)
        for statement in HISTORY:
            started = time.monotonic()
            await connection.execute(statement, workspace_id)
            print(f"  history step in {time.monotonic() - started:.1f} s", flush=True)
        # As autovacuum leaves the tables in use: without the visibility map, index-only scans
        # read the heap (lifecycle conversion 116 ms p50 straight after seeding).
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return seeded


def endpoints(pipeline_id: str) -> list[tuple[str, str]]:
    return [
        ("sales/pipeline-value", "currency=EUR&group_by=owner"),
        ("sales/weighted-pipeline-value", "currency=EUR"),
        ("sales/win-rate", f"{YEAR_MONTHLY}&group_by=pipeline"),
        ("sales/average-deal-size", f"{YEAR_MONTHLY}&currency=EUR"),
        ("sales/sales-cycle", YEAR_MONTHLY),
        ("sales/pipeline-velocity", f"{RANGE}&currency=EUR"),
        ("sales/funnel", f"{RANGE}&pipeline_id={pipeline_id}"),
        ("sales/forecast", "start=2024-01-01T00:00:00Z&end=2026-01-01T00:00:00Z&currency=EUR"),
        ("customers/lifecycle-conversion", RANGE),
        ("customers/lifetime-value", f"{YEAR_MONTHLY}&currency=EUR"),
        ("customers/average-order-value", f"{YEAR_MONTHLY}&currency=EUR"),
        ("customers/average-order-value", f"{YEAR_MONTHLY}&currency=EUR&group_by=lead_source"),
        ("customers/purchase-frequency", f"{RANGE}&currency=EUR"),
        ("customers/repeat-purchase-rate", RANGE),
        ("customers/churn-rate", "start=2024-06-01T00:00:00Z&end=2024-09-01T00:00:00Z"),
        ("customers/retention-rate", "start=2024-06-01T00:00:00Z&end=2024-09-01T00:00:00Z"),
        ("customers/active-customers", "end=2024-09-01T00:00:00Z"),
        ("service/nps", YEAR_MONTHLY),
        ("service/csat", YEAR_MONTHLY),
        ("service/first-response-time", f"{YEAR_MONTHLY}&group_by=channel"),
        ("service/resolution-time", f"{RANGE}&statistic=p90"),
        ("service/sla-compliance", YEAR_MONTHLY),
        ("service/ticket-volume", f"{YEAR_MONTHLY}&group_by=priority"),
        ("service/ticket-volume", "start=2024-03-01T09:30:00Z&end=2024-09-15T17:00:00Z"),
        ("service/negative-sentiment-share", YEAR_MONTHLY),
    ]


def _label(path: str, query: str) -> str:
    """The KPI, with what sets this call apart from others of the same KPI."""
    fields = dict(part.split("=", 1) for part in query.split("&"))
    notes = [f"by {fields['group_by']}"] if "group_by" in fields else []
    if "start" in fields and not fields["start"].endswith("T00:00:00Z"):
        notes.append("range cut mid-day")
    return f"{path} ({', '.join(notes)})" if notes else path


def measure(base: str, key: str, pipeline_id: str, calls: int) -> list[tuple[str, float, float]]:
    results = []
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as client:
        for path, query in endpoints(pipeline_id):
            url = f"/v1/kpis/{path}?{query}"
            for _ in range(3):  # warm-up
                response = client.get(url)
                response.raise_for_status()
            timings = []
            for _ in range(calls):
                started = time.perf_counter()
                client.get(url).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
            results.append((_label(path, query), statistics.median(timings), p95))
            print(f"  {results[-1][0]}: p50 {results[-1][1]:.1f} ms, p95 {p95:.1f} ms", flush=True)
    return results


def write(path: Path, args: argparse.Namespace, results: list[tuple[str, float, float]]) -> None:
    lines = [
        "# KPI benchmark",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}), one crm-api worker, "
        "calls one at a time over loopback.",
        "",
        f"Data in one workspace: {args.contacts:,} contacts, {args.companies:,} companies, "
        f"{args.deals:,} deals, {args.interactions:,} interactions, {args.orders:,} orders and "
        f"{args.tickets:,} tickets, seeded with COPY (`bench/kpis.py`), plus the history the "
        "KPIs read (closed deals and stage changes, sentiment, lifecycle changes, 100k NPS "
        "answers, CSAT for every solved ticket). Ranges are a year, monthly series where the "
        f"KPI has one. Each endpoint: 3 warm-up calls, then {args.calls} timed calls.",
        "",
        "Command: `.venv/bin/pip install -e '.[embedded,bench]' && .venv/bin/python -m bench.kpis"
        + (" --database-url URL`, against the PostgreSQL at URL" if args.database_url else "`")
        + ".",
        "",
        "| KPI | p50 ms | p95 ms | under 100 ms (p95) |",
        "| --- | ---: | ---: | :---: |",
    ]
    lines += [
        f"| {name} | {p50:.1f} | {p95:.1f} | {'yes' if p95 < 100 else 'no'} |"
        for name, p50, p95 in results
    ]
    notes = ROOT / "docs" / "kpi-benchmark-notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: embedded)")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--orders", type=int, default=500_000)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "docs" / "kpi-benchmarks.md"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    admin_url, _server = _database(args)
    state = WORK / "kpis-state.json"
    if args.reseed or not state.exists():
        started = time.monotonic()
        seeded = asyncio.run(seed_all(admin_url, args))
        seed.save(seeded, state)
        print(f"seeded in {time.monotonic() - started:.0f} s", flush=True)
    seeded = seed.load(state)
    url = seeded.database_url

    async def first_pipeline() -> str:
        connection = await asyncpg.connect(libpq_url(sqlalchemy_url(url)))
        try:
            return str(
                await connection.fetchval(
                    "SELECT id FROM pipelines WHERE workspace_id = $1",
                    uuid.UUID(seeded.workspace_id),
                )
            )
        finally:
            await connection.close()

    pipeline_id = asyncio.run(first_pipeline())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        {"CRM_DATABASE_URL": url, "CRM_RATE_LIMIT": "1000000/minute", "CRM_RUN_WORKER": "false"}
    )
    command = [str(Path(sys.executable).parent / "crm-api"), "serve", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with _process(command, env, f"{base}/readyz", WORK / "kpis-serve.log"):
        results = measure(base, seeded.api_key, pipeline_id, args.calls)
    write(Path(args.output), args, results)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
