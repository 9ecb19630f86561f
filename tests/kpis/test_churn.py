"""Churn and retention (inactivity: a customer at an instant has a paid order in the 90 days
before it) from the buyers' days, against the definition computed here in Python from the
orders, on random buyers over a year and pairs of instants whose windows overlap, meet, lie a
day or months apart; cut mid-day (raw orders), and after refunds and a merge."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import Workspace, make_contact, make_order, make_product
from tests.kpis.test_rollups import _patch, assert_rollups_match

WINDOW = timedelta(days=90)  # CRM_CHURN_INACTIVE_DAYS by default
FIRST = datetime(2025, 7, 1, tzinfo=UTC)


def expected_churn(paid: list[tuple[Any, datetime]], start: datetime, end: datetime) -> Any:
    def customers_at(instant: datetime) -> set[Any]:
        return {contact for contact, at in paid if instant - WINDOW <= at < instant}

    before, after = customers_at(start), customers_at(end)
    if not before:
        return None
    return (Decimal(len(before - after)) / len(before)).quantize(Decimal("0.0001")).normalize()


def pairs(rng: random.Random) -> list[tuple[datetime, datetime]]:
    chosen = []
    for gap in (1, 2, 30, 89, 90, 91, 92, 150, 180, 270):
        for _ in range(3):
            start = FIRST + timedelta(days=rng.randrange(0, 360 - min(gap, 300)))
            chosen.append((start, start + timedelta(days=gap)))
    chosen += [
        (FIRST - timedelta(days=200), FIRST - timedelta(days=100)),  # before any order
        (FIRST, FIRST + timedelta(days=365)),
        (FIRST + timedelta(days=100, hours=13), FIRST + timedelta(days=190, hours=2)),
        (FIRST + timedelta(days=40), FIRST + timedelta(days=150, minutes=30)),
        (FIRST + timedelta(days=95, seconds=1), FIRST + timedelta(days=96)),
    ]
    return chosen


async def test_churn_from_buyer_days_is_the_definition(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    rng = random.Random(21)  # noqa: S311 (seeded test data)
    products = {
        currency: await make_product(
            client, workspace, price={"amount": "10.00", "currency": currency}
        )
        for currency in ("EUR", "USD")
    }
    contacts = [await make_contact(client, workspace) for _ in range(12)]
    orders = []
    for n in range(110):
        contact = contacts[n % len(contacts)] if n < 24 else rng.choice(contacts)
        placed = FIRST + timedelta(
            days=rng.randrange(0, 365), hours=rng.choice([0, 9, 23]), minutes=rng.choice([0, 59])
        )
        currency = rng.choice(["EUR", "EUR", "USD"])
        orders.append(
            await make_order(
                client,
                workspace,
                contact_id=contact["id"],
                placed_at=placed.isoformat(),
                status=rng.choice(["paid", "paid", "fulfilled", "placed"]),
                lines=[{"product_id": products[currency]["id"], "quantity": 1}],
            )
        )
        if n % 10 == 0:  # the same buyer and day in the other currency
            other = "USD" if currency == "EUR" else "EUR"
            await make_order(
                client,
                workspace,
                contact_id=contact["id"],
                placed_at=(placed + timedelta(minutes=1)).isoformat(),
                status="paid",
                lines=[{"product_id": products[other]["id"], "quantity": 1}],
            )
    for order in orders[:10]:
        status = "refunded" if order["status"] in ("paid", "fulfilled") else "paid"
        await _patch(client, workspace, f"/v1/orders/{order['id']}", {"status": status})

    async def compare() -> int:
        paid = [
            (contact, at)
            for contact, at in await connection.execute(
                text(
                    "SELECT contact_id, placed_at FROM orders WHERE workspace_id = :ws"
                    " AND status IN ('paid', 'fulfilled')"
                ),
                {"ws": workspace.id},
            )
        ]
        mismatches, answered = [], 0
        for start, end in pairs(rng):
            query = {"start": start.isoformat(), "end": end.isoformat()}
            churn = await client.get(
                "/v1/kpis/customers/churn-rate", params=query, headers=workspace.headers
            )
            retention = await client.get(
                "/v1/kpis/customers/retention-rate", params=query, headers=workspace.headers
            )
            assert churn.status_code == retention.status_code == 200, churn.text
            expected = expected_churn(paid, start, end)
            got = churn.json()["value"]
            if (None if got is None else Decimal(got)) != expected:
                mismatches.append((start, end, got, expected))
            if expected is not None:
                answered += 1
                assert Decimal(retention.json()["value"]) == 1 - Decimal(got)
        assert not mismatches, mismatches
        return answered

    await assert_rollups_match(connection, workspace)
    assert await compare() > 25
    merged = await client.post(
        f"/v1/contacts/{contacts[0]['id']}/merge",
        json={"source_id": contacts[1]["id"]},
        headers=workspace.headers,
    )
    assert merged.status_code == 200, merged.text
    await assert_rollups_match(connection, workspace)
    assert await compare() > 25
