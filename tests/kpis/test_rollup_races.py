"""The KPI rollups under concurrent writers: orders of one buyer, changes of that buyer's
owner and lead source, deal moves, lifecycle changes, first replies to tickets and their
priority changes at once, each in its own committed
request; afterwards every rollup equals the raw rows it sums."""

import asyncio
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_api.core.db import create_sessionmaker
from crm_api.kpis.compaction import compact_rollups
from tests.factories import (
    make_contact,
    make_deal,
    make_member,
    make_pipeline,
    make_product,
    make_ticket,
    new_workspace,
)
from tests.kpis.test_rollups import assert_rollups_match

ROUNDS = 12


async def test_rollups_hold_under_concurrent_writers(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> None:
    client = committing_client
    workspace = await new_workspace(committing_app, "Rollup races")
    headers = workspace.headers
    euro = await make_product(client, workspace)
    buyer = await make_contact(client, workspace, lead_source="web")
    owners = [await make_member(client, workspace) for _ in range(2)]
    pipeline = await make_pipeline(client, workspace)
    stages = [stage["id"] for stage in pipeline["stages"]]
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"], stage_id=stages[0])
    agent = await make_member(client, workspace, role="agent")
    tickets = [
        await make_ticket(client, workspace, requester_id=buyer["id"]) for _ in range(ROUNDS)
    ]

    async def order(n: int) -> Any:
        return await client.post(
            "/v1/orders",
            json={
                "contact_id": buyer["id"],
                "status": "paid" if n % 3 else "placed",
                "placed_at": f"2026-01-{1 + n % 5:02d}T10:00:00Z",
                "lines": [{"product_id": euro["id"], "quantity": 1 + n % 2}],
            },
            headers=headers,
        )

    async def contact_change(n: int) -> Any:
        body = {"lead_source": f"source-{n % 3}", "owner_id": owners[n % 2]["id"]}
        body["lifecycle_stage"] = ("lead", "customer", "opportunity")[n % 3]
        return await client.patch(f"/v1/contacts/{buyer['id']}", json=body, headers=headers)

    async def deal_move(n: int) -> Any:
        body = {
            "stage_id": stages[n % len(stages)],
            "amount": {"amount": f"{n}00", "currency": "EUR"},
        }
        return await client.patch(f"/v1/deals/{deal['id']}", json=body, headers=headers)

    async def ticket_reply(n: int) -> Any:
        reply = {"body": "On it.", "author_member_id": agent["id"]}
        url = f"/v1/tickets/{tickets[n]['id']}"
        return await client.post(f"{url}/messages", json=reply, headers=headers)

    async def ticket_priority(n: int) -> Any:
        url = f"/v1/tickets/{tickets[(n + 1) % ROUNDS]['id']}"
        body = {"priority": ("urgent", "low", "high")[n % 3]}
        return await client.patch(url, json=body, headers=headers)

    calls = (order, contact_change, deal_move, ticket_reply, ticket_priority)
    responses = await asyncio.gather(*(call(n) for n in range(ROUNDS) for call in calls))
    assert all(response.status_code in (200, 201) for response in responses), [
        response.text for response in responses if response.status_code >= 300
    ]
    async with engine.connect() as connection:
        await assert_rollups_match(connection, workspace)
    # The worker's compaction leaves one row a key and the same figures.
    assert await compact_rollups(create_sessionmaker(engine)) > 0
    async with engine.connect() as connection:
        await assert_rollups_match(connection, workspace)


async def test_deal_batches_in_opposite_stage_order_do_not_deadlock(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> None:
    """Each item of a batch is its own statement, so two batches placing deals in stages A then
    B and B then A took the stages' rollup rows in opposite orders and deadlocked, while the
    rollup triggers updated one row per key; they only insert steps now (migration 0032)."""
    client = committing_client
    workspace = await new_workspace(committing_app, "Deal batches")
    pipeline = await make_pipeline(client, workspace)
    first, second = (stage["id"] for stage in pipeline["stages"][:2])

    async def batch(one: str, other: str) -> Any:
        amount = {"amount": "10.00", "currency": "EUR"}
        item = {"name": "d", "pipeline_id": pipeline["id"], "amount": amount}
        items = [{**item, "stage_id": one}] * 5 + [{**item, "stage_id": other}] * 5
        return await client.post(
            "/v1/deals/batch",
            json={"operation": "create", "items": items},
            headers=workspace.headers,
        )

    for _ in range(8):
        responses = await asyncio.gather(batch(first, second), batch(second, first))
        assert [response.status_code for response in responses] == [200, 200], [
            response.text for response in responses
        ]
    async with engine.connect() as connection:
        await assert_rollups_match(connection, workspace)
