"""Every KPI against a small data set built through the API at fixed times, with the expected
numbers worked out by hand in the comments; and another workspace's data never counts."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import time_machine
from httpx import AsyncClient

from tests.factories import (
    Workspace,
    make_contact,
    make_deal,
    make_member,
    make_pipeline,
    make_product,
    make_sla_policy,
    make_ticket,
)
from tests.problems import assert_problem

JAN_FEB = "start=2026-01-01T00:00:00Z&end=2026-03-01T00:00:00Z"


@contextmanager
def at(when: str) -> Iterator[None]:
    with time_machine.travel(datetime.fromisoformat(when), tick=False):
        yield


async def _kpi(client: AsyncClient, workspace: Workspace, path: str, query: str) -> Any:
    response = await client.get(f"/v1/kpis/{path}?{query}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _move(
    client: AsyncClient, workspace: Workspace, deal: dict[str, Any], stage: str
) -> None:
    response = await client.patch(
        f"/v1/deals/{deal['id']}", json={"stage_id": stage}, headers=workspace.headers
    )
    assert response.status_code == 200, response.text


async def _sales(client: AsyncClient, workspace: Workspace) -> dict[str, Any]:
    """Five deals created 2026-01-05 10:00 in a pipeline Open(20%) / Later(60%) / Won / Lost:
    D1 1000 EUR (owner A): Later on 01-15, won 01-25 (20 days); D2 3000 EUR (A): won 02-04
    (30 days); D3 2000 EUR (B): lost 02-04; D4 500 EUR (B) open, closing 2026-03-15; D5 800
    USD (B) open, closing 2026-03-20."""
    pipeline = await make_pipeline(client, workspace)
    open_, later, won, lost = (stage["id"] for stage in pipeline["stages"])
    a, b = await make_member(client, workspace), await make_member(client, workspace)

    async def deal(amount: str, currency: str, owner: dict[str, Any], **more: Any) -> Any:
        body = {
            "name": "d",
            "amount": {"amount": amount, "currency": currency},
            "pipeline_id": pipeline["id"],
            "stage_id": open_,
            "owner_id": owner["id"],
            **more,
        }
        response = await client.post("/v1/deals", json=body, headers=workspace.headers)
        assert response.status_code == 201, response.text
        return response.json()

    with at("2026-01-05T10:00:00+00:00"):
        d1, d2 = await deal("1000", "EUR", a), await deal("3000", "EUR", a)
        d3 = await deal("2000", "EUR", b)
        await deal("500", "EUR", b, expected_close_date="2026-03-15")
        await deal("800", "USD", b, expected_close_date="2026-03-20")
    with at("2026-01-15T10:00:00+00:00"):
        await _move(client, workspace, d1, later)
    with at("2026-01-25T10:00:00+00:00"):
        await _move(client, workspace, d1, won)
    with at("2026-02-04T10:00:00+00:00"):
        await _move(client, workspace, d2, won)
        await _move(client, workspace, d3, lost)
    return {"pipeline": pipeline, "a": a, "b": b}


async def test_sales_kpis(client: AsyncClient, workspace: Workspace) -> None:
    made = await _sales(client, workspace)
    a, b = made["a"]["id"], made["b"]["id"]

    # Closed in Jan-Feb: D1 and D2 won, D3 lost: 2/3. Owner A 2/2, B 0/1. Jan 1/1, Feb 1/2.
    win = await _kpi(client, workspace, "sales/win-rate", f"{JAN_FEB}&group_by=owner")
    assert win["value"] == "0.6667"
    assert {group["key"]: group["value"] for group in win["groups"]} == {a: "1", b: "0"}
    monthly = await _kpi(client, workspace, "sales/win-rate", f"{JAN_FEB}&interval=month")
    assert [point["value"] for point in monthly["series"]] == ["1", "0.5"]
    assert [point["period_start"][:10] for point in monthly["series"]] == [
        "2026-01-01",
        "2026-02-01",
    ]
    # Won in EUR: (1000 + 3000) / 2.
    size = await _kpi(client, workspace, "sales/average-deal-size", f"{JAN_FEB}&currency=EUR")
    assert (size["value"], size["currency"]) == ("2000.00", "EUR")
    # (20 + 30) / 2 days.
    cycle = await _kpi(client, workspace, "sales/sales-cycle", JAN_FEB)
    assert cycle["value"] == "25"
    # Open now in EUR: D4 500; weighted at Open's 20%: 100.
    value = await _kpi(client, workspace, "sales/pipeline-value", "currency=EUR")
    assert value["value"] == "500.00"
    weighted = await _kpi(client, workspace, "sales/weighted-pipeline-value", "currency=EUR")
    assert weighted["value"] == "100.00"
    # In EUR only (D5, open in USD, is not counted): 1 open deal x 2/3 x 2000 / 25 days.
    velocity = await _kpi(client, workspace, "sales/pipeline-velocity", f"{JAN_FEB}&currency=EUR")
    assert velocity["value"] == "53.3333"
    # In USD: no deal closed in USD, so no win rate, deal size or cycle: no figure.
    in_usd = await _kpi(client, workspace, "sales/pipeline-velocity", f"{JAN_FEB}&currency=USD")
    assert in_usd["value"] is None
    # Entered Open 5, Later 1 (1/5), Won 2 (2/1, D2 skipped Later); overall 2/5.
    funnel = await _kpi(
        client, workspace, "sales/funnel", f"{JAN_FEB}&pipeline_id={made['pipeline']['id']}"
    )
    assert [(g["key"], g["count"], g["ratio"]) for g in funnel["groups"]] == [
        ("Open", 5, None),
        ("Later", 1, "0.2"),
        ("Won", 2, "2"),
    ]
    assert funnel["value"] == "0.4"
    # Closing in March, EUR: D4 500 x 20% = 100.
    forecast = await _kpi(
        client,
        workspace,
        "sales/forecast",
        "start=2026-03-01T00:00:00Z&end=2026-04-01T00:00:00Z&currency=EUR",
    )
    assert forecast["groups"] == [{"key": "2026-03", "value": "100.00", "count": 1, "ratio": None}]
    assert forecast["value"] == "100.00"


async def test_the_funnel_counts_a_deal_once_per_stage_however_often_it_returns(
    client: AsyncClient, workspace: Workspace
) -> None:
    """D1 enters Later twice in February; D2 entered Later in January and again in February."""
    pipeline = await make_pipeline(client, workspace)
    open_, later, won, _ = (stage["id"] for stage in pipeline["stages"])
    placed = {"pipeline_id": pipeline["id"], "stage_id": open_}
    with at("2026-01-05T10:00:00+00:00"):
        d1 = await make_deal(client, workspace, **placed)
        d2 = await make_deal(client, workspace, **placed)
    moves = (
        ("2026-01-20T10:00:00+00:00", d2, later),
        ("2026-01-25T10:00:00+00:00", d2, open_),
        ("2026-02-02T10:00:00+00:00", d1, later),
        ("2026-02-03T10:00:00+00:00", d1, open_),
        ("2026-02-04T10:00:00+00:00", d1, later),
        ("2026-02-05T10:00:00+00:00", d2, later),
        ("2026-02-06T10:00:00+00:00", d2, won),
    )
    for when, deal, stage in moves:
        with at(when):
            await _move(client, workspace, deal, stage)

    async def reached(start: str) -> list[tuple[str, int]]:
        query = f"start={start}&end=2026-03-01&pipeline_id={pipeline['id']}"
        funnel = await _kpi(client, workspace, "sales/funnel", query)
        return [(group["key"], group["count"]) for group in funnel["groups"]]

    # From February: Open D1 (back on 02-03; D2 was back in January), Later both, Won D2.
    assert await reached("2026-02-01") == [("Open", 1), ("Later", 2), ("Won", 1)]
    # From January: both created in Open, then back in it; Later twice each: two deals each.
    assert await reached("2026-01-01") == [("Open", 2), ("Later", 2), ("Won", 1)]


async def test_a_stage_change_recorded_out_of_time_order_counts_once(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Two API hosts' clocks apart: a change stamped before one already recorded. The entry
    after it is re-pointed at it, so the funnel still counts the deal once per stage."""
    pipeline = await make_pipeline(client, workspace)
    open_, later = pipeline["stages"][0]["id"], pipeline["stages"][1]["id"]
    with at("2026-01-01T00:00:00+00:00"):
        deal = await make_deal(client, workspace, pipeline_id=pipeline["id"], stage_id=open_)
    for when, stage in (
        ("2026-01-10T12:00:00.005+00:00", later),  # host A
        ("2026-01-10T12:00:00.003+00:00", open_),  # host B, 5 ms behind
        ("2026-01-10T12:00:00.004+00:00", later),
    ):
        with at(when):
            await _move(client, workspace, deal, stage)
    query = f"start=2026-01-10&end=2026-01-11&pipeline_id={pipeline['id']}"
    funnel = await _kpi(client, workspace, "sales/funnel", query)
    assert [(group["key"], group["count"]) for group in funnel["groups"]] == [
        ("Open", 1),
        ("Later", 1),
        ("Won", 0),
    ]


async def test_customer_kpis(client: AsyncClient, workspace: Workspace) -> None:
    """C1 (web) and C2 (ads) become leads on 01-02, C3 (ads) a subscriber; C1 becomes a
    customer on 01-10. Paid EUR orders: C1 100 on 01-10 and 300 on 02-10, C2 200 on 01-20; C3
    has a cancelled 500 EUR order on 01-25 and a paid 50 USD order on 02-15."""
    euro = await make_product(client, workspace, price={"amount": "100.00", "currency": "EUR"})
    dollar = await make_product(client, workspace, price={"amount": "50.00", "currency": "USD"})
    with at("2026-01-02T09:00:00+00:00"):
        c1 = await make_contact(client, workspace, email="c1@example.com", lead_source="web")
        c2 = await make_contact(client, workspace, email="c2@example.com", lead_source="ads")
        c3 = await make_contact(
            client,
            workspace,
            email="c3@example.com",
            lead_source="ads",
            lifecycle_stage="subscriber",
        )

    async def order(
        contact: dict[str, Any], when: str, product: Any, qty: int, status: str
    ) -> None:
        body = {
            "contact_id": contact["id"],
            "placed_at": when,
            "status": status,
            "lines": [{"product_id": product["id"], "quantity": qty}],
        }
        response = await client.post("/v1/orders", json=body, headers=workspace.headers)
        assert response.status_code == 201, response.text

    await order(c1, "2026-01-10T10:00:00Z", euro, 1, "paid")
    await order(c1, "2026-02-10T10:00:00Z", euro, 3, "fulfilled")
    await order(c2, "2026-01-20T10:00:00Z", euro, 2, "paid")
    await order(c3, "2026-01-25T10:00:00Z", euro, 5, "cancelled")
    await order(c3, "2026-02-15T10:00:00Z", dollar, 1, "paid")
    with at("2026-01-10T10:00:00+00:00"):
        promoted = await client.patch(
            f"/v1/contacts/{c1['id']}",
            json={"lifecycle_stage": "customer"},
            headers=workspace.headers,
        )
        assert promoted.status_code == 200

    eur = f"{JAN_FEB}&currency=EUR"
    # (100 + 300 + 200) / 3 orders.
    assert (await _kpi(client, workspace, "customers/average-order-value", eur))[
        "value"
    ] == "200.00"
    # 600 / 2 customers; by lead source web 400, ads 200.
    clv = await _kpi(client, workspace, "customers/lifetime-value", f"{eur}&group_by=lead_source")
    assert clv["value"] == "300.00"
    assert [(g["key"], g["value"]) for g in clv["groups"]] == [("web", "400.00"), ("ads", "200.00")]
    # 3 orders / 2 customers.
    frequency = await _kpi(client, workspace, "customers/purchase-frequency", eur)
    assert frequency["value"] == "1.5"
    # Buyers of any currency: C1 twice, C2 and C3 once: 1/3.
    repeat = await _kpi(client, workspace, "customers/repeat-purchase-rate", JAN_FEB)
    assert repeat["value"] == "0.3333"
    # Ordered in the 90 days before 03-01: C1, C2, C3.
    active = await _kpi(client, workspace, "customers/active-customers", JAN_FEB)
    assert active["value"] == "3"
    # Customers at 02-01 (an order in the 90 days before): C1, C2. At 05-01 (orders since
    # 01-31): C1, C3. C2 is lost: 1/2.
    period = "start=2026-02-01T00:00:00Z&end=2026-05-01T00:00:00Z"
    assert (await _kpi(client, workspace, "customers/churn-rate", period))["value"] == "0.5"
    assert (await _kpi(client, workspace, "customers/retention-rate", period))["value"] == "0.5"
    # Leads in Jan-Feb: C1, C2; C1 became a customer: 1/2.
    conversion = await _kpi(client, workspace, "customers/lifecycle-conversion", JAN_FEB)
    assert conversion["value"] == "0.5"
    assert c3["lifecycle_stage"] == "subscriber"


async def test_service_kpis(client: AsyncClient, workspace: Workspace) -> None:
    """T1 email/high: replied after 1800 s, solved after 14400 s. T2 email/normal: replied after
    3600 s (its 40-minute target breached), solved after 86400 s. T3 chat/normal: replied after
    600 s, open."""
    await make_sla_policy(
        client,
        workspace,
        is_default=True,
        targets={p: {"first_response_minutes": 40} for p in ("normal", "high")},
    )
    agent = await make_member(client, workspace, role="agent")
    reply = {"body": "On it.", "author_member_id": agent["id"]}

    async def ticket(created: str, replied: str, solved: str | None, **fields: str) -> Any:
        with at(created):
            made = await make_ticket(client, workspace, **fields)
        url = f"/v1/tickets/{made['id']}"
        with at(replied):
            assert (
                await client.post(f"{url}/messages", json=reply, headers=workspace.headers)
            ).status_code == 201
        if solved:
            with at(solved):
                response = await client.patch(
                    url, json={"status": "solved"}, headers=workspace.headers
                )
                assert response.status_code == 200
        return made

    t1 = await ticket(
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T09:30:00+00:00",
        "2026-01-05T13:00:00+00:00",
        channel="email",
        priority="high",
    )
    t2 = await ticket(
        "2026-01-06T09:00:00+00:00",
        "2026-01-06T10:00:00+00:00",
        "2026-01-07T09:00:00+00:00",
        channel="email",
    )
    await ticket("2026-01-07T09:00:00+00:00", "2026-01-07T09:10:00+00:00", None, channel="chat")

    # No whole UTC month in the range: exact.
    january = "start=2026-01-01T00:00:00Z&end=2026-01-31T00:00:00Z"
    frt = await _kpi(client, workspace, "service/first-response-time", january)
    assert (frt["value"], frt["approximate"]) == ("1800", False)  # median of 600, 1800, 3600
    p90 = await _kpi(client, workspace, "service/first-response-time", f"{january}&statistic=p90")
    assert p90["value"] == "3240"  # 1800 + 0.8 x (3600 - 1800)
    # Whole months read the histograms: within 1%, and the answer says so.
    for statistic, exact in (("median", 1800), ("p90", 3240)):
        estimate = await _kpi(
            client, workspace, "service/first-response-time", f"{JAN_FEB}&statistic={statistic}"
        )
        assert estimate["approximate"] is True
        assert abs(Decimal(estimate["value"]) - exact) <= Decimal("0.01") * exact
        assert Decimal(estimate["value"]) != exact  # really from the buckets
    resolution = await _kpi(client, workspace, "service/resolution-time", JAN_FEB)
    assert resolution["value"] == "50400"  # median of 14400 and 86400
    compliance = await _kpi(client, workspace, "service/sla-compliance", JAN_FEB)
    assert compliance["value"] == "0.6667"  # T2 breached
    volume = await _kpi(client, workspace, "service/ticket-volume", f"{JAN_FEB}&group_by=channel")
    assert volume["value"] == "3"
    assert [(g["key"], g["value"]) for g in volume["groups"]] == [("email", "2"), ("chat", "1")]

    for rated, score in ((t1, 5), (t2, 3)):
        with at("2026-01-10T10:00:00+00:00"):
            response = await client.post(
                "/v1/survey-responses",
                json={"kind": "csat", "ticket_id": rated["id"], "score": score},
                headers=workspace.headers,
            )
            assert response.status_code == 201, response.text
    assert (await _kpi(client, workspace, "service/csat", JAN_FEB))["value"] == "4"
    contact = t1["requester_id"]
    for score in (10, 10, 9, 8, 5, 0):
        response = await client.post(
            "/v1/survey-responses",
            json={
                "kind": "nps",
                "contact_id": contact,
                "score": score,
                "responded_at": "2026-02-01T10:00:00Z",
            },
            headers=workspace.headers,
        )
        assert response.status_code == 201
    # 100 x (3 promoters - 2 detractors) / 6.
    assert (await _kpi(client, workspace, "service/nps", JAN_FEB))["value"] == "16.6667"

    for body in ("I love it, great work!", "This is awful and broken.", "The call is on Tuesday."):
        response = await client.post(
            "/v1/interactions",
            json={
                "kind": "email",
                "direction": "inbound",
                "contact_id": contact,
                "body": body,
                "occurred_at": "2026-01-20T10:00:00Z",
            },
            headers=workspace.headers,
        )
        assert response.status_code == 201
    share = await _kpi(client, workspace, "service/negative-sentiment-share", JAN_FEB)
    assert share["value"] == "0.3333"


async def test_kpis_see_only_their_workspace_and_refuse_bad_ranges(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    made = await _sales(client, other_workspace)
    win = await _kpi(client, workspace, "sales/win-rate", JAN_FEB)
    assert win["value"] is None
    value = await _kpi(client, workspace, "sales/pipeline-value", "currency=EUR")
    # Nothing to add up is 0, in the currency's format; an average of nothing has no value.
    assert value["value"] == "0.00"
    funnel = await client.get(
        f"/v1/kpis/sales/funnel?pipeline_id={made['pipeline']['id']}", headers=workspace.headers
    )
    assert_problem(funnel, 404)
    backwards = await client.get(
        "/v1/kpis/sales/win-rate?start=2026-03-01T00:00:00Z&end=2026-01-01T00:00:00Z",
        headers=workspace.headers,
    )
    assert_problem(backwards, 422)
    # The parameter at fault is named, in the API's words.
    assert backwards.json()["errors"][0]["loc"][-1] == "start"
    assert backwards.json()["errors"][0]["msg"] == "must be before end"
    dates = await client.get(
        "/v1/kpis/sales/win-rate?start=2026-01-01&end=2026-03-01", headers=workspace.headers
    )
    assert dates.status_code == 200
    assert (dates.json()["start"], dates.json()["end"]) == (
        "2026-01-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
    )
    no_currency = await client.get("/v1/kpis/sales/pipeline-value", headers=workspace.headers)
    assert_problem(no_currency, 422)
    assert no_currency.json()["errors"][0]["loc"] == ["query", "currency"]
    too_long = await client.get(
        "/v1/kpis/sales/win-rate?start=2020-01-01T00:00:00Z&end=2026-01-01T00:00:00Z&interval=day",
        headers=workspace.headers,
    )
    assert_problem(too_long, 422)
    assert too_long.json()["errors"][0]["loc"][-1] == "interval"
    empty = await _kpi(
        client, workspace, "sales/pipeline-velocity", "end=2000-01-01T00:00:00Z&currency=EUR"
    )
    assert empty["value"] is None
    anonymous = await client.get(
        "/v1/kpis/sales/win-rate?start=2026-03-01T00:00:00Z&end=2020-01-01T00:00:00Z"
    )
    assert_problem(anonymous, 401)  # credentials are checked before parameters
    unknown = await client.get("/v1/kpis/sales/win-rate?group_by=colour", headers=workspace.headers)
    assert_problem(unknown, 422, field="group_by")
    assert_problem(
        await client.get("/v1/kpis/sales/average-deal-size", headers=workspace.headers),
        422,
        field="currency",
    )
