"""KPI answers from the kept tables (rollups, chains, buyer days) against raw rows, on seeded
random data and odd ranges: cut mid-day, in other offsets, one second long, empty, before any
data; with and without day, week and month series. Each answer is compared with the same KPI
broken down by industry (which reads raw rows) or with the raw formula it replaced."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_deal,
    make_order,
    make_pipeline,
    make_product,
)
from tests.kpis.test_rollups import CONVERSION, _patch, assert_rollups_match, at

BASE = datetime(2026, 1, 1, tzinfo=UTC)
RANGES = [
    ("2026-01-01", "2026-03-01"),
    ("2026-01-05", "2026-01-06"),
    ("2026-01-07", "2026-02-10"),
    ("2026-01-03T00:00:00+00:00", "2026-02-17T00:00:00+00:00"),
    ("2026-01-04T05:30:00+05:30", "2026-01-20T00:00:00-00:00"),
    ("2026-01-10T13:00:00Z", "2026-02-03T07:00:00Z"),
    ("2026-01-10T13:00:00+02:00", "2026-01-10T20:00:00+02:00"),
    ("2026-01-15T00:00:00Z", "2026-01-15T00:00:01Z"),
    ("2026-02-28", "2026-03-02"),
    ("2025-12-01", "2026-01-01"),
]
FUNNEL = (
    "SELECT s.name, count(DISTINCT h.deal_id) FROM pipeline_stages s LEFT JOIN deal_stage_changes h"
    " ON h.workspace_id = s.workspace_id AND h.to_stage_id = s.id AND h.changed_at >= :start"
    " AND h.changed_at < :end WHERE s.workspace_id = :ws AND s.pipeline_id = :p"
    " AND s.kind <> 'lost'"
    " GROUP BY s.id, s.name, s.position ORDER BY s.position"
)
REPEAT = (
    "SELECT round(count(*) FILTER (WHERE n >= 2)::numeric / NULLIF(count(*), 0), 4) FROM ("
    "SELECT count(*) AS n FROM orders o WHERE o.workspace_id = :ws"
    " AND o.status IN ('paid', 'fulfilled')"
    " AND o.placed_at >= :start AND o.placed_at < :end GROUP BY o.contact_id) b"
)


def norm(value: Any) -> Any:
    return None if value is None else Decimal(str(value)).normalize()


async def test_kpis_answer_as_raw_rows_do_on_random_data_and_odd_ranges(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    rng = random.Random(7)  # noqa: S311 (seeded test data)
    h = workspace.headers
    company = await make_company(client, workspace, industry="retail")
    products = {
        cur: await make_product(client, workspace, price={"amount": "10.00", "currency": cur})
        for cur in ("EUR", "USD")
    }
    contacts = [
        await make_contact(
            client,
            workspace,
            company_id=company["id"],
            lead_source=rng.choice([None, "web", "ads"]),
        )
        for _ in range(6)
    ]
    orders = []
    for _ in range(45):
        c = rng.choice(contacts)
        day = BASE + timedelta(
            days=rng.randrange(-3, 60),
            hours=rng.choice([0, 5, 12, 23]),
            minutes=rng.choice([0, 59]),
        )
        cur = rng.choice(["EUR", "EUR", "USD"])
        o = await make_order(
            client,
            workspace,
            contact_id=c["id"],
            company_id=company["id"],
            placed_at=day.isoformat(),
            status=rng.choice(["paid", "paid", "fulfilled", "placed"]),
            lines=[{"product_id": products[cur]["id"], "quantity": rng.randrange(1, 4)}],
        )
        orders.append(o)
    for o in orders[:8]:
        if o["status"] in ("paid", "fulfilled"):
            await _patch(client, workspace, f"/v1/orders/{o['id']}", {"status": "refunded"})
        elif o["status"] == "placed":
            await _patch(client, workspace, f"/v1/orders/{o['id']}", {"status": "paid"})
    # lifecycle and deal moves at chosen instants, some at the same instant
    pipeline = await make_pipeline(client, workspace)
    stages = [s["id"] for s in pipeline["stages"]]
    with at("2026-01-01T00:00:00+00:00"):
        deals = [
            await make_deal(
                client,
                workspace,
                pipeline_id=pipeline["id"],
                stage_id=stages[0],
                company_id=company["id"],
            )
            for _ in range(5)
        ]
    stages_life = ["subscriber", "lead", "opportunity", "customer", "lead"]
    whens = sorted(
        (BASE + timedelta(days=rng.randrange(0, 58), hours=rng.choice([0, 10, 23]))).isoformat()
        for _ in range(40)
    )
    for when in whens:
        with at(when):
            if rng.random() < 0.5:
                c = rng.choice(contacts)
                await client.patch(
                    f"/v1/contacts/{c['id']}",
                    json={"lifecycle_stage": rng.choice(stages_life)},
                    headers=h,
                )
                if rng.random() < 0.3:  # another change at the very same instant
                    await client.patch(
                        f"/v1/contacts/{c['id']}",
                        json={"lifecycle_stage": rng.choice(stages_life)},
                        headers=h,
                    )
            else:
                d = rng.choice(deals)
                await client.patch(
                    f"/v1/deals/{d['id']}", json={"stage_id": rng.choice(stages[:3])}, headers=h
                )
    await assert_rollups_match(connection, workspace)

    async def get(path: str, **q: Any) -> Any:
        r = await client.get(f"/v1/kpis/{path}?{urlencode(q)}", headers=h)
        assert r.status_code == 200, (path, q, r.text)
        return r.json()

    mismatches: list[tuple[Any, ...]] = []
    compared = 0
    for start, end in RANGES:
        s, e = (
            datetime.fromisoformat(start.replace("Z", "+00:00")),
            datetime.fromisoformat(end.replace("Z", "+00:00")),
        )
        if s.tzinfo is None:
            s, e = (
                s.replace(tzinfo=UTC),
                e.replace(tzinfo=UTC) if e.tzinfo is None else e,
            )
        if e.tzinfo is None:
            e = e.replace(tzinfo=UTC)
        for interval in (None, "day", "week", "month"):
            extra = {"interval": interval} if interval else {}
            for path in (
                "customers/lifetime-value",
                "customers/purchase-frequency",
                "customers/average-order-value",
            ):
                for cur in ("EUR", "USD"):
                    a = await get(path, start=start, end=end, currency=cur, **extra)
                    b = await get(
                        path, start=start, end=end, currency=cur, group_by="industry", **extra
                    )
                    compared += b["value"] is not None
                    if a["value"] != b["value"] or a.get("series") != b.get("series"):
                        mismatches.append(
                            (
                                path,
                                start,
                                end,
                                interval,
                                cur,
                                a["value"],
                                b["value"],
                                a.get("series"),
                                b.get("series"),
                            )
                        )
                    for g in ("owner", "lead_source"):
                        grouped = await get(
                            path, start=start, end=end, currency=cur, group_by=g, **extra
                        )
                        if grouped["value"] != b["value"]:
                            mismatches.append(
                                (path, g, start, end, interval, cur, grouped["value"], b["value"])
                            )
            for path, more in (
                ("sales/win-rate", {}),
                ("sales/average-deal-size", {"currency": "EUR"}),
                ("sales/sales-cycle", {}),
            ):
                a = await get(path, start=start, end=end, **more, **extra)
                b = await get(path, start=start, end=end, group_by="industry", **more, **extra)
                if a["value"] != b["value"] or a.get("series") != b.get("series"):
                    mismatches.append((path, start, end, interval, a["value"], b["value"]))
        rep = await get("customers/repeat-purchase-rate", start=start, end=end)
        want = await connection.scalar(text(REPEAT), {"ws": workspace.id, "start": s, "end": e})
        if norm(rep["value"]) != norm(want):
            mismatches.append(("repeat", start, end, rep["value"], want))
        for fr, to in (
            ("lead", "customer"),
            ("lead", "opportunity"),
            ("opportunity", "lead"),
            ("customer", "lead"),
            ("lead", "lead"),
        ):
            conv = await get(
                "customers/lifecycle-conversion", start=start, end=end, from_stage=fr, to_stage=to
            )
            want = await connection.scalar(
                text(CONVERSION),
                {"ws": workspace.id, "start": s, "end": e, "from_stage": fr, "to_stage": to},
            )
            if norm(conv["value"]) != norm(want):
                mismatches.append(("conversion", fr, to, start, end, conv["value"], want))
        fun = await get("sales/funnel", start=start, end=end, pipeline_id=pipeline["id"])
        want = [
            (n, c)
            for n, c in await connection.execute(
                text(FUNNEL), {"ws": workspace.id, "p": pipeline["id"], "start": s, "end": e}
            )
        ]
        got = [(g["key"], g["count"]) for g in fun["groups"]]
        if got != want:
            mismatches.append(("funnel", start, end, got, want))
    assert not mismatches, mismatches
    # The data is rich enough that the comparisons are about figures, not about nothing.
    assert compared > 100, compared
