"""The daily KPI rollups: kept by triggers through creates, updates and deletes so that they
always equal the raw rows they sum (computed here independently), and mixed with raw rows at
the partial first and last day of a range."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import time_machine
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.models.rollup import ROLLUP_TABLES, compaction
from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_deal,
    make_interaction,
    make_member,
    make_order,
    make_pipeline,
    make_product,
    make_sla_policy,
    make_ticket,
)

# Each rollup as its rows should be, summed straight from the source table.
RAW = {
    "order_days": (
        "SELECT (placed_at AT TIME ZONE 'UTC')::date, currency, status, count(*), sum(total)"
        " FROM orders WHERE workspace_id = :ws GROUP BY 1, 2, 3"
    ),
    "ticket_days": (
        "SELECT (created_at AT TIME ZONE 'UTC')::date, channel, priority, assignee_id, count(*),"
        " count(sla_policy_id), count(*) FILTER (WHERE sla_policy_id IS NOT NULL"
        " AND sla_breached_at IS NOT NULL) FROM tickets WHERE workspace_id = :ws"
        " GROUP BY 1, 2, 3, 4"
    ),
    "survey_days": (
        "SELECT (responded_at AT TIME ZONE 'UTC')::date, kind, count(*), sum(score),"
        " count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6)"
        " FROM survey_responses WHERE workspace_id = :ws GROUP BY 1, 2"
    ),
    "sentiment_days": (
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date, kind, count(*),"
        " count(*) FILTER (WHERE sentiment <= -0.05) FROM interactions WHERE workspace_id = :ws"
        " AND direction = 'inbound' AND sentiment IS NOT NULL GROUP BY 1, 2"
    ),
    "buyer_days": (
        "SELECT contact_id, day, currency, orders, total,"
        " lag(day) OVER (PARTITION BY contact_id, currency ORDER BY day),"
        " lead(day) OVER (PARTITION BY contact_id, currency ORDER BY day),"
        " lag(day) OVER (PARTITION BY contact_id ORDER BY day, currency),"
        " lead(day) OVER (PARTITION BY contact_id ORDER BY day, currency),"
        " (SELECT owner_id FROM contacts WHERE id = contact_id),"
        " (SELECT lead_source FROM contacts WHERE id = contact_id)"
        " FROM (SELECT contact_id, (placed_at AT TIME ZONE 'UTC')::date AS day, currency,"
        " count(*) AS orders, sum(total) AS total FROM orders WHERE workspace_id = :ws"
        " AND status IN ('paid', 'fulfilled') GROUP BY 1, 2, 3) AS days"
    ),
    "buyer_source_days": (
        "SELECT (o.placed_at AT TIME ZONE 'UTC')::date, o.currency, p.owner_id, p.lead_source,"
        " count(*), sum(o.total) FROM orders o JOIN contacts p ON p.workspace_id = o.workspace_id"
        " AND p.id = o.contact_id WHERE o.workspace_id = :ws"
        " AND o.status IN ('paid', 'fulfilled') GROUP BY 1, 2, 3, 4"
    ),
    "lifecycle_chain": (
        "SELECT l.id, (SELECT max(p.changed_at) FROM contact_lifecycle_changes p"
        " WHERE p.workspace_id = l.workspace_id AND p.contact_id = l.contact_id"
        " AND p.to_stage = l.to_stage AND (p.changed_at, p.id) < (l.changed_at, l.id)),"
        " (SELECT string_agg(DISTINCT s.to_stage, ',' ORDER BY s.to_stage)"
        " FROM contact_lifecycle_changes s WHERE s.workspace_id = l.workspace_id"
        " AND s.contact_id = l.contact_id AND s.changed_at >= l.changed_at AND s.id <> l.id)"
        " FROM contact_lifecycle_changes l WHERE l.workspace_id = :ws"
    ),
    # The bucket as the smallest b with (101/99)^b >= d, in numeric arithmetic (the kept table
    # uses log_bucket(), in doubles), offset by 2000 and mirrored below zero.
    "ticket_response_months": (
        "SELECT date_trunc('month', created_at AT TIME ZONE 'UTC')::date, channel, priority,"
        " CASE WHEN d = 0 THEN 0 ELSE sign(d) * (2000 + ceil(log(101 / 99.0, abs(d)))) END,"
        " count(*) FROM (SELECT *, extract(epoch FROM first_responded_at - created_at) AS d"
        " FROM tickets WHERE workspace_id = :ws AND first_responded_at IS NOT NULL) AS t"
        " GROUP BY 1, 2, 3, 4"
    ),
    "deal_stage_totals": (
        "SELECT stage_id, currency, owner_id, source,"
        " date_trunc('month', expected_close_date)::date, count(*), coalesce(sum(amount), 0)"
        " FROM deals WHERE workspace_id = :ws"
        " AND archived_at IS NULL GROUP BY 1, 2, 3, 4, 5"
    ),
    "deal_close_days": (
        "SELECT (closed_at AT TIME ZONE 'UTC')::date, stage_id, currency, owner_id, source,"
        " count(*), coalesce(sum(amount), 0), sum(extract(epoch FROM closed_at - created_at))"
        " FROM deals WHERE workspace_id = :ws AND archived_at IS NULL AND closed_at IS NOT NULL"
        " GROUP BY 1, 2, 3, 4, 5"
    ),
}


def _summed(table: str, keys: str, values: str, count: str) -> str:
    """A rollup's rows as readers see them: the steps of each key summed (migration 0032)."""
    sums = ", ".join(f"sum({value})" for value in values.split(", "))
    return (
        f"SELECT {keys}, {sums} FROM {table} WHERE workspace_id = :ws"  # noqa: S608
        f" GROUP BY {keys} HAVING sum({count}) <> 0"
    )


KEPT = {
    "order_days": _summed("order_days", "day, currency, status", "orders, total", "orders"),
    "ticket_days": _summed(
        "ticket_days",
        "day, channel, priority, assignee_id",
        "tickets, with_policy, breached",
        "tickets",
    ),
    "survey_days": _summed(
        "survey_days", "day, kind", "responses, score_sum, promoters, detractors", "responses"
    ),
    "sentiment_days": _summed("sentiment_days", "day, kind", "scored, negative", "scored"),
    "buyer_days": (
        "SELECT contact_id, day, currency, orders, total, previous_day, next_day,"
        " previous_any_day, next_any_day, owner_id, lead_source FROM buyer_days"
        " WHERE workspace_id = :ws"
    ),
    "buyer_source_days": _summed(
        "buyer_source_days", "day, currency, owner_id, lead_source", "orders, total", "orders"
    ),
    "lifecycle_chain": (
        "SELECT id, previous_entry_at, NULLIF(array_to_string(reached_after, ','), '')"
        " FROM contact_lifecycle_changes WHERE workspace_id = :ws"
    ),
    "ticket_response_months": _summed(
        "ticket_response_months", "month, channel, priority, bucket", "tickets", "tickets"
    ),
    "deal_stage_totals": _summed(
        "deal_stage_totals",
        "stage_id, currency, owner_id, source, close_month",
        "deals, amount",
        "deals",
    ),
    "deal_close_days": _summed(
        "deal_close_days",
        "day, stage_id, currency, owner_id, source",
        "deals, amount, cycle_seconds",
        "deals",
    ),
}


@contextmanager
def at(when: str) -> Iterator[None]:
    with time_machine.travel(datetime.fromisoformat(when), tick=False):
        yield


async def _rows(connection: AsyncConnection, sql: str, workspace: Workspace) -> set[Any]:
    return set(map(tuple, await connection.execute(text(sql), {"ws": workspace.id})))


async def assert_rollups_match(connection: AsyncConnection, workspace: Workspace) -> None:
    for table, raw in RAW.items():
        kept = await _rows(connection, KEPT[table], workspace)
        assert kept == await _rows(connection, raw, workspace), table


async def _patch(client: AsyncClient, workspace: Workspace, url: str, body: Any) -> Any:
    current = await client.get(url, headers=workspace.headers)
    response = await client.patch(
        url, json=body, headers={**workspace.headers, "If-Match": current.headers["ETag"]}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _delete(client: AsyncClient, workspace: Workspace, url: str) -> None:
    current = await client.get(url, headers=workspace.headers)
    response = await client.delete(
        url, headers={**workspace.headers, "If-Match": current.headers["ETag"]}
    )
    assert response.status_code == 204, response.text


async def test_rollups_follow_creates_updates_and_deletes(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    dollar = await make_product(client, workspace, price={"amount": "50.00", "currency": "USD"})
    contact = await make_contact(client, workspace)
    orders = [
        await make_order(client, workspace, contact_id=contact["id"], placed_at=when)
        for when in ("2026-01-05T23:30:00Z", "2026-01-06T00:30:00Z", "2026-01-06T10:00:00Z")
    ]
    await make_order(
        client,
        workspace,
        contact_id=contact["id"],
        placed_at="2026-01-06T11:00:00Z",
        lines=[{"product_id": dollar["id"], "quantity": 3}],
    )
    await make_order(client, other_workspace, placed_at="2026-01-06T10:00:00Z")
    await assert_rollups_match(connection, workspace)
    first = f"/v1/orders/{orders[0]['id']}"
    await _patch(client, workspace, first, {"status": "paid"})
    await _patch(client, workspace, first, {"status": "refunded"})
    await _patch(client, workspace, f"/v1/orders/{orders[1]['id']}", {"status": "cancelled"})
    await _patch(client, workspace, f"/v1/orders/{orders[2]['id']}", {"note": "gift wrap"})
    await assert_rollups_match(connection, workspace)

    agent = await make_member(client, workspace, role="agent")
    await make_sla_policy(
        client, workspace, is_default=True, targets={"normal": {"first_response_minutes": 30}}
    )
    with at("2026-01-05T09:00:00+00:00"):
        late = await make_ticket(client, workspace, channel="email")
        quick = await make_ticket(client, workspace, channel="chat", priority="low")
        gone = await make_ticket(client, workspace, channel="phone")
    await make_ticket(client, other_workspace)
    await assert_rollups_match(connection, workspace)
    with at("2026-01-05T10:00:00+00:00"):  # an hour: the 30-minute target is breached
        reply = {"body": "On it.", "author_member_id": agent["id"]}
        answered = await client.post(
            f"/v1/tickets/{late['id']}/messages", json=reply, headers=workspace.headers
        )
        assert answered.status_code == 201
    assert (await client.get(f"/v1/tickets/{late['id']}", headers=workspace.headers)).json()["sla"][
        "first_response"
    ]["breached_at"]
    with at("2026-01-05T09:00:00+00:00"):  # at the instant it was opened: zero seconds
        for answered_at_once in (quick, gone):
            response = await client.post(
                f"/v1/tickets/{answered_at_once['id']}/messages",
                json=reply,
                headers=workspace.headers,
            )
            assert response.status_code == 201
    await assert_rollups_match(connection, workspace)
    await _patch(client, workspace, f"/v1/tickets/{quick['id']}", {"assignee_id": agent["id"]})
    await _patch(client, workspace, f"/v1/tickets/{quick['id']}", {"priority": "urgent"})
    current = await client.get(f"/v1/tickets/{gone['id']}", headers=workspace.headers)
    archived = await client.post(
        f"/v1/tickets/{gone['id']}/archive",
        headers={**workspace.headers, "If-Match": current.headers["ETag"]},
    )
    assert archived.status_code == 200, archived.text
    await _delete(client, workspace, f"/v1/tickets/{gone['id']}")
    await assert_rollups_match(connection, workspace)
    assert await _rows(connection, KEPT["ticket_response_months"], workspace)

    for score, when in ((10, "2026-01-05T08:00:00Z"), (3, "2026-01-05T09:00:00Z")):
        response = await client.post(
            "/v1/survey-responses",
            json={"kind": "nps", "contact_id": contact["id"], "score": score, "responded_at": when},
            headers=workspace.headers,
        )
        assert response.status_code == 201
    await assert_rollups_match(connection, workspace)

    sour = await make_interaction(
        client, workspace, contact_id=contact["id"], body="This is awful and broken."
    )
    await make_interaction(client, workspace, contact_id=contact["id"], body="Great, thanks!")
    await make_interaction(client, workspace, contact_id=contact["id"], kind="call", body="Bad.")
    await make_interaction(client, other_workspace, body="Terrible.")
    await assert_rollups_match(connection, workspace)
    await _patch(client, workspace, f"/v1/interactions/{sour['id']}", {"body": "Lovely work."})
    await assert_rollups_match(connection, workspace)
    await _delete(client, workspace, f"/v1/interactions/{sour['id']}")
    await assert_rollups_match(connection, workspace)
    assert await _rows(connection, KEPT["sentiment_days"], workspace)


async def test_deal_rollups_follow_every_change_of_a_deal(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    pipeline = await make_pipeline(client, workspace)
    open_, later, won, lost = (stage["id"] for stage in pipeline["stages"])
    owner = await make_member(client, workspace)
    placed = {"pipeline_id": pipeline["id"], "stage_id": open_}
    with at("2026-01-05T10:00:00+00:00"):
        first = await make_deal(client, workspace, **placed, expected_close_date="2026-03-15")
        second = await make_deal(client, workspace, **placed, owner_id=owner["id"], source="web")
        bare = await make_deal(client, workspace, **placed, amount=None)
        await make_deal(client, other_workspace)
    await assert_rollups_match(connection, workspace)
    url = f"/v1/deals/{first['id']}"
    await _patch(client, workspace, url, {"amount": {"amount": "2500.50", "currency": "USD"}})
    await _patch(client, workspace, url, {"expected_close_date": "2026-04-02", "source": "ads"})
    with at("2026-01-25T23:30:00+00:00"):
        await _patch(client, workspace, url, {"stage_id": won})
        await _patch(client, workspace, f"/v1/deals/{second['id']}", {"stage_id": lost})
    await assert_rollups_match(connection, workspace)
    with at("2026-02-01T09:00:00+00:00"):
        await _patch(client, workspace, f"/v1/deals/{second['id']}", {"stage_id": later})
        await _patch(client, workspace, f"/v1/deals/{second['id']}", {"stage_id": won})
    await _patch(client, workspace, f"/v1/deals/{bare['id']}", {"owner_id": owner["id"]})
    await assert_rollups_match(connection, workspace)
    current = await client.get(url, headers=workspace.headers)
    archive = await client.post(
        f"{url}/archive", headers={**workspace.headers, "If-Match": current.headers["ETag"]}
    )
    assert archive.status_code == 200, archive.text
    await assert_rollups_match(connection, workspace)
    await _delete(client, workspace, url)
    await assert_rollups_match(connection, workspace)
    assert await _rows(connection, KEPT["deal_close_days"], workspace)
    assert await _rows(connection, KEPT["deal_stage_totals"], workspace)

    # Writers only add steps; compaction sums each key's into one row, figures unchanged.
    repeated = text(
        "SELECT count(*) - count(DISTINCT (stage_id, currency, owner_id, source, close_month))"
        " FROM deal_stage_totals WHERE workspace_id = :ws"
    )
    assert await connection.scalar(repeated, {"ws": workspace.id}) > 0
    for table in ROLLUP_TABLES:
        await connection.execute(text(compaction(table)))
    assert await connection.scalar(repeated, {"ws": workspace.id}) == 0
    await assert_rollups_match(connection, workspace)


async def test_deal_kpis_agree_with_raw_rows_on_cut_ranges(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Win rate, deal size and cycle without a breakdown read the rollups (raw rows for partial
    days); by industry, raw rows only. The forecast reads whole months from the rollup."""
    pipeline = await make_pipeline(client, workspace)
    open_, _, won, lost = (stage["id"] for stage in pipeline["stages"])
    company = await make_company(client, workspace, industry="retail")
    placed = {"pipeline_id": pipeline["id"], "stage_id": open_, "company_id": company["id"]}
    closes = (
        ("2026-01-05T06:00:00+00:00", won, "100.00"),
        ("2026-01-05T18:00:00+00:00", lost, "200.00"),
        ("2026-01-06T09:00:00+00:00", won, "400.00"),
        ("2026-01-07T09:00:00+00:00", won, "800.00"),
        ("2026-01-07T19:00:00+00:00", lost, "1600.00"),
    )
    for when, stage, amount in closes:
        with at("2026-01-01T00:00:00+00:00"):
            deal = await make_deal(
                client, workspace, **placed, amount={"amount": amount, "currency": "EUR"}
            )
        with at(when):
            await _patch(client, workspace, f"/v1/deals/{deal['id']}", {"stage_id": stage})
    query = "start=2026-01-05T12:00:00Z&end=2026-01-07T12:00:00Z&interval=day"
    for path, more in (
        ("win-rate", ""),
        ("average-deal-size", "&currency=EUR"),
        ("sales-cycle", ""),
    ):
        url = f"/v1/kpis/sales/{path}?{query}{more}"
        rolled = (await client.get(url, headers=workspace.headers)).json()
        raw = (await client.get(f"{url}&group_by=industry", headers=workspace.headers)).json()
        assert rolled["value"] == raw["value"] is not None, path
        assert rolled["series"] == raw["series"], path
    # In the range: lost 200 (01-05 18:00), won 400, won 800 (01-07 09:00): 2/3, 600 EUR.
    win = await client.get(f"/v1/kpis/sales/win-rate?{query}", headers=workspace.headers)
    assert win.json()["value"] == "0.6667"
    size = await client.get(
        f"/v1/kpis/sales/average-deal-size?{query}&currency=EUR", headers=workspace.headers
    )
    assert size.json()["value"] == "600.00"

    for close in ("2026-02-05", "2026-02-15", "2026-03-15", "2026-04-05", "2026-04-20"):
        await make_deal(client, workspace, **placed, expected_close_date=close)
    forecast = await client.get(
        "/v1/kpis/sales/forecast?start=2026-02-10&end=2026-04-10&currency=EUR",
        headers=workspace.headers,
    )
    assert [(g["key"], g["value"], g["count"]) for g in forecast.json()["groups"]] == [
        ("2026-02", "200.00", 1),
        ("2026-03", "200.00", 1),
        ("2026-04", "200.00", 1),
    ]


async def test_buyer_days_follow_orders_and_answer_as_raw_rows_do(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    """Lifetime value, purchase frequency and repeat purchase rate count distinct buyers from
    `buyer_days` on whole-day ranges without a breakdown, and from raw orders otherwise."""
    euro = await make_product(client, workspace, price={"amount": "100.00", "currency": "EUR"})
    dollar = await make_product(client, workspace, price={"amount": "50.00", "currency": "USD"})
    web = await make_contact(client, workspace, lead_source="web")
    ads = await make_contact(client, workspace, lead_source="ads")
    once = await make_contact(client, workspace, lead_source="web")
    gone = await make_contact(client, workspace, lead_source="web")

    async def order(contact: Any, when: str, product: Any = euro, status: str = "paid") -> Any:
        return await make_order(
            client,
            workspace,
            contact_id=contact["id"],
            placed_at=when,
            status=status,
            lines=[{"product_id": product["id"], "quantity": 1}],
        )

    for when in ("2026-01-05T09:00:00Z", "2026-01-05T15:00:00Z", "2026-01-20T10:00:00Z"):
        await order(web, when)
    await order(web, "2026-02-10T10:00:00Z", status="fulfilled")
    await order(ads, "2026-01-06T10:00:00Z")
    await order(ads, "2026-01-06T11:00:00Z", dollar)
    late = await order(ads, "2026-02-15T10:00:00Z", status="placed")
    await order(once, "2026-01-31T23:00:00Z")
    refunded = await order(gone, "2026-01-25T10:00:00Z")
    await order(gone, "2026-02-01T10:00:00Z")
    await make_order(client, other_workspace, placed_at="2026-01-05T10:00:00Z", status="paid")
    await assert_rollups_match(connection, workspace)
    await _patch(client, workspace, f"/v1/orders/{late['id']}", {"status": "paid"})
    await _patch(client, workspace, f"/v1/orders/{refunded['id']}", {"status": "refunded"})
    await assert_rollups_match(connection, workspace)

    async def kpi(path: str, query: str) -> Any:
        response = await client.get(f"/v1/kpis/customers/{path}?{query}", headers=workspace.headers)
        assert response.status_code == 200, response.text
        return response.json()

    months = "start=2026-01-01&end=2026-03-01&interval=month"
    # EUR: web 4 orders (400), ads 2 (200), once 1 (100), gone 1 (100): 800 / 4, 8 / 4. By
    # month: January web 3, ads 1, once 1 (500 / 3); February web, ads, gone (300 / 3).
    for path, whole, by_month in (
        ("lifetime-value", "200.00", ["166.67", "100.00"]),
        ("purchase-frequency", "2", ["1.6667", "1"]),
    ):
        answer = await kpi(path, f"{months}&currency=EUR")
        raw = await kpi(path, f"{months}&currency=EUR&group_by=lead_source")
        assert answer["value"] == raw["value"] == whole, path
        assert [point["value"] for point in answer["series"]] == by_month, path
        assert answer["series"] == raw["series"], path
    # From 01-20: web (01-20, 02-10), ads (02-15), once (01-31), gone (02-01): one repeat.
    repeat = await kpi("repeat-purchase-rate", "start=2026-01-20&end=2026-03-01")
    assert repeat["value"] == "0.25"
    # A second earlier, raw orders answer: ads's USD order on 01-06 is still out of range.
    raw_repeat = await kpi("repeat-purchase-rate", "start=2026-01-19T23:59:59Z&end=2026-03-01")
    assert raw_repeat["value"] == "0.25"
    # January alone, any currency: web 3 orders, ads 2 (EUR and USD on one day), once 1.
    assert (await kpi("repeat-purchase-rate", "start=2026-01-01&end=2026-02-01"))["value"] == (
        "0.6667"
    )

    merged = await client.post(
        f"/v1/contacts/{web['id']}/merge", json={"source_id": once["id"]}, headers=workspace.headers
    )
    assert merged.status_code == 200, merged.text
    await assert_rollups_match(connection, workspace)
    assert (await kpi("lifetime-value", f"{months}&currency=EUR"))["value"] == "266.67"


# Lifecycle conversion as it was computed before the chain (migration 0028): the oracle.
CONVERSION = (
    "WITH entered AS (SELECT l.contact_id, min(l.changed_at) AS at"
    " FROM contact_lifecycle_changes l WHERE l.workspace_id = :ws"
    " AND l.to_stage = :from_stage AND l.changed_at >= :start AND l.changed_at < :end"
    " GROUP BY l.contact_id),"
    " reached AS (SELECT c.contact_id, max(c.changed_at) AS at"
    " FROM contact_lifecycle_changes c WHERE c.workspace_id = :ws"
    " AND c.to_stage = :to_stage GROUP BY c.contact_id)"
    " SELECT round(count(r.contact_id) FILTER (WHERE r.at >= e.at)::numeric"
    " / NULLIF(count(*), 0), 4) FROM entered e LEFT JOIN reached r USING (contact_id)"
)


async def test_lifecycle_conversion_follows_entries_moves_and_merges(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    async def stage(contact: Any, to: str, when: str) -> None:
        with at(when):
            await _patch(
                client, workspace, f"/v1/contacts/{contact['id']}", {"lifecycle_stage": to}
            )

    with at("2026-01-01T10:00:00+00:00"):
        again = await make_contact(client, workspace, lifecycle_stage="lead")
        later = await make_contact(client, workspace, lifecycle_stage="subscriber")
        merged = await make_contact(client, workspace, lifecycle_stage="lead")
        await make_contact(client, workspace, lifecycle_stage="lead")
    await stage(again, "customer", "2026-01-10T10:00:00+00:00")
    await stage(again, "lead", "2026-02-01T10:00:00+00:00")
    await stage(again, "opportunity", "2026-02-05T10:00:00+00:00")
    await stage(later, "lead", "2026-01-20T10:00:00+00:00")
    await stage(later, "customer", "2026-03-01T10:00:00+00:00")
    await stage(merged, "opportunity", "2026-02-10T10:00:00+00:00")
    await assert_rollups_match(connection, workspace)

    async def both(from_stage: str, to_stage: str, start: str, end: str) -> tuple[Any, Any]:
        response = await client.get(
            "/v1/kpis/customers/lifecycle-conversion",
            params={"from_stage": from_stage, "to_stage": to_stage, "start": start, "end": end},
            headers=workspace.headers,
        )
        assert response.status_code == 200, response.text
        value = response.json()["value"]
        binds = {
            "ws": workspace.id,
            "from_stage": from_stage,
            "to_stage": to_stage,
            "start": datetime.fromisoformat(start),
            "end": datetime.fromisoformat(end),
        }
        oracle = await connection.scalar(text(CONVERSION), binds)
        return value, None if oracle is None else str(oracle.normalize())

    cases = [
        ("lead", "customer", "2026-01-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00"),
        ("lead", "customer", "2026-01-15T00:00:00+00:00", "2026-04-01T00:00:00+00:00"),
        ("lead", "opportunity", "2026-01-15T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
        ("lead", "lead", "2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00"),
        ("customer", "lead", "2026-01-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00"),
        ("subscriber", "customer", "2026-01-01T00:00:00+00:00", "2026-02-01T00:00:00+00:00"),
    ]
    answers = [await both(*case) for case in cases]
    assert [value for value, _ in answers] == [oracle for _, oracle in answers]
    # Leads entering from 01-15: "again" (back on 02-01, no customer after) and "later"
    # (customer on 03-01): one of two.
    assert answers[1][0] == "0.5"

    response = await client.post(
        f"/v1/contacts/{again['id']}/merge",
        json={"source_id": merged["id"]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    await assert_rollups_match(connection, workspace)
    answers = [await both(*case) for case in cases]
    assert [value for value, _ in answers] == [oracle for _, oracle in answers]


async def test_a_range_cut_mid_day_reads_raw_rows_at_either_end(
    client: AsyncClient, workspace: Workspace
) -> None:
    for when in (
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T20:00:00+00:00",
        "2026-01-06T12:00:00+00:00",
        "2026-01-07T08:00:00+00:00",
        "2026-01-07T15:00:00+00:00",
    ):
        with at(when):
            await make_ticket(client, workspace, channel="email")

    async def volume(query: str) -> Any:
        response = await client.get(
            f"/v1/kpis/service/ticket-volume?{query}", headers=workspace.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    # 01-05 20:00, 01-06 12:00 and 01-07 08:00: two partial days and one whole one.
    cut = await volume("start=2026-01-05T12:00:00Z&end=2026-01-07T10:00:00Z&interval=day")
    assert cut["value"] == "3"
    assert [point["value"] for point in cut["series"]] == ["1", "1", "1"]
    # Within one day, and from a midnight to a midday.
    assert (await volume("start=2026-01-05T08:00:00Z&end=2026-01-05T10:00:00Z"))["value"] == "1"
    assert (await volume("start=2026-01-06T00:00:00Z&end=2026-01-07T12:00:00Z"))["value"] == "2"
    # In another time zone: 21:00+01:00 is 20:00 UTC, counted, and so is 12:00 UTC.
    shifted = await volume("start=2026-01-05T21:00:00%2B01:00&end=2026-01-06T14:00:00%2B01:00")
    assert shifted["value"] == "2"


async def test_rolled_and_raw_answers_agree_on_a_cut_range(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    """Average order value without a breakdown reads the daily rollups; by lead source or
    owner, buyers' days (which follow the contact's changes); by industry, raw rows. Each
    with raw rows for the partial days at either end."""
    euro = await make_product(client, workspace)
    company = await make_company(client, workspace, industry="retail")
    web = await make_contact(client, workspace, lead_source="web", company_id=company["id"])
    ads = await make_contact(client, workspace, lead_source="ads", company_id=company["id"])
    for contact, when, quantity in (
        (web, "2026-01-05T06:00:00Z", 1),
        (web, "2026-01-05T18:00:00Z", 2),
        (ads, "2026-01-06T09:00:00Z", 4),
        (ads, "2026-01-07T09:00:00Z", 8),
        (web, "2026-01-07T19:00:00Z", 16),
    ):
        await make_order(
            client,
            workspace,
            contact_id=contact["id"],
            company_id=company["id"],
            placed_at=when,
            status="paid",
            lines=[{"product_id": euro["id"], "quantity": quantity}],
        )
    query = "start=2026-01-05T12:00:00Z&end=2026-01-07T12:00:00Z&currency=EUR&interval=day"
    url = "/v1/kpis/customers/average-order-value"

    async def answer(group_by: str = "") -> Any:
        more = f"&group_by={group_by}" if group_by else ""
        response = await client.get(f"{url}?{query}{more}", headers=workspace.headers)
        assert response.status_code == 200, response.text
        return response.json()

    rolled, by_source, raw = await answer(), await answer("lead_source"), await answer("industry")
    # 200, 400 and 800 EUR: 466.67 (money has its currency's decimal places).
    assert rolled["value"] == by_source["value"] == raw["value"] == "466.67"
    assert rolled["series"] == by_source["series"] == raw["series"]
    assert [point["value"] for point in rolled["series"]] == ["200.00", "400.00", "800.00"]
    assert [(g["key"], g["value"], g["count"]) for g in by_source["groups"]] == [
        ("ads", "600.00", 2),
        ("web", "200.00", 1),
    ]
    owner = await make_member(client, workspace)
    await _patch(client, workspace, f"/v1/contacts/{ads['id']}", {"lead_source": "partner"})
    await _patch(client, workspace, f"/v1/contacts/{web['id']}", {"owner_id": owner["id"]})
    await assert_rollups_match(connection, workspace)
    assert [(g["key"], g["value"]) for g in (await answer("lead_source"))["groups"]] == [
        ("partner", "600.00"),
        ("web", "200.00"),
    ]
    assert [(g["key"], g["value"]) for g in (await answer("owner"))["groups"]] == [
        (None, "600.00"),
        (owner["id"], "200.00"),
    ]


async def test_deleting_a_workspace_takes_its_rollups(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    await make_order(client, workspace)
    ticket = await make_ticket(client, workspace)
    agent = await make_member(client, workspace, role="agent")
    response = await client.post(
        f"/v1/tickets/{ticket['id']}/messages",
        json={"body": "On it.", "author_member_id": agent["id"]},
        headers=workspace.headers,
    )
    assert response.status_code == 201
    await make_interaction(client, workspace, body="Awful.")
    assert await _rows(connection, KEPT["ticket_response_months"], workspace)
    await connection.execute(text("DELETE FROM workspaces WHERE id = :ws"), {"ws": workspace.id})
    left = await connection.scalar(
        text(
            "SELECT (SELECT count(*) FROM order_days WHERE workspace_id = :ws)"
            " + (SELECT count(*) FROM ticket_days WHERE workspace_id = :ws)"
            " + (SELECT count(*) FROM sentiment_days WHERE workspace_id = :ws)"
            " + (SELECT count(*) FROM ticket_response_months WHERE workspace_id = :ws)"
        ),
        {"ws": workspace.id},
    )
    assert left == 0
