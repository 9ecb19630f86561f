"""Products and orders: the catalog, order lines priced and totalled, the order workflow, filters,
events, and references that must stay inside the workspace."""

from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_order, make_product
from tests.problems import assert_problem


async def test_products_have_unique_skus_and_can_be_retired(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = workspace.headers
    product = await make_product(client, workspace, sku="Pro-1")
    assert product["price"] == {"amount": "100.00", "currency": "EUR"}
    duplicate = await client.post(
        "/v1/products",
        json={"sku": "PRO-1", "name": "x", "price": {"amount": "1", "currency": "EUR"}},
        headers=headers,
    )
    assert assert_problem(duplicate, 409, field="sku")["existing_id"] == product["id"]
    bad = await client.post(
        "/v1/products",
        json={"sku": "N", "name": "x", "price": {"amount": "-1", "currency": "EUR"}},
        headers=headers,
    )
    assert_problem(bad, 422)
    url = f"/v1/products/{product['id']}"
    retired = await client.patch(
        url, json={"active": False}, headers={**headers, "If-Match": '"1"'}
    )
    assert retired.status_code == 200
    assert retired.headers["ETag"] == '"2"'
    active = await client.get("/v1/products?active=true", headers=headers)
    assert active.json()["data"] == []
    by_sku = await client.get("/v1/products?sku=pro-1", headers=headers)
    assert [item["id"] for item in by_sku.json()["data"]] == [product["id"]]


async def test_an_order_is_priced_totalled_and_moved_through_its_workflow(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = workspace.headers
    plan = await make_product(client, workspace, price={"amount": "49.90", "currency": "EUR"})
    seat = await make_product(client, workspace, price={"amount": "10.00", "currency": "EUR"})
    contact = await make_contact(client, workspace)
    order = await make_order(
        client,
        workspace,
        contact_id=contact["id"],
        lines=[
            {"product_id": plan["id"], "quantity": 2},
            {"product_id": seat["id"], "quantity": 3, "unit_price": "8.50"},
        ],
    )
    assert order["status"] == "placed"
    assert order["total"] == {"amount": "125.30", "currency": "EUR"}
    assert [line["line_total"] for line in order["lines"]] == ["99.80", "25.50"]

    url = f"/v1/orders/{order['id']}"
    refused = await client.patch(url, json={"status": "fulfilled"}, headers=headers)
    assert assert_problem(refused, 409)["allowed"] == ["cancelled", "paid"]
    for status in ("paid", "fulfilled", "refunded"):
        moved = await client.patch(url, json={"status": status}, headers=headers)
        assert moved.status_code == 200, moved.text
    final = await client.patch(url, json={"status": "paid"}, headers=headers)
    assert assert_problem(final, 409)["allowed"] == []
    events = await client.get(f"/v1/events?resource_id={order['id']}&limit=100", headers=headers)
    types = [event["type"] for event in events.json()["data"]]
    assert types.count("order.status_changed") == 3
    assert types[0] == "order.created"


async def test_bad_lines_are_named_and_nothing_is_written(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    headers = workspace.headers
    contact = await make_contact(client, workspace)
    euro = await make_product(client, workspace)
    dollar = await make_product(client, workspace, price={"amount": "5.00", "currency": "USD"})
    retired = await make_product(client, workspace, active=False)
    foreign = await make_product(client, other_workspace)
    response = await client.post(
        "/v1/orders",
        json={
            "contact_id": contact["id"],
            "lines": [
                {"product_id": euro["id"], "quantity": 1},
                {"product_id": dollar["id"], "quantity": 1},
                {"product_id": retired["id"], "quantity": 1},
                {"product_id": foreign["id"], "quantity": 1},
            ],
        },
        headers=headers,
    )
    problem = assert_problem(response, 422)
    assert [error["loc"] for error in problem["errors"]] == [
        ["body", "lines", 1, "unit_price"],
        ["body", "lines", 2, "product_id"],
        ["body", "lines", 3, "product_id"],
    ]
    stranger = await client.post(
        "/v1/orders",
        json={
            "contact_id": (await make_contact(client, other_workspace))["id"],
            "lines": [{"product_id": euro["id"], "quantity": 1}],
        },
        headers=headers,
    )
    assert_problem(stranger, 422, field="contact_id")
    assert (await client.get("/v1/orders", headers=headers)).json()["data"] == []
    assert_problem(
        await client.post(
            "/v1/orders", json={"contact_id": contact["id"], "lines": []}, headers=headers
        ),
        422,
        field="lines",
    )


async def test_orders_filter_and_page(client: AsyncClient, workspace: Workspace) -> None:
    headers = workspace.headers
    contact = await make_contact(client, workspace)
    product = await make_product(client, workspace)
    for day, quantity in (("2026-01-05", 1), ("2026-02-05", 3), ("2026-03-05", 2)):
        await make_order(
            client,
            workspace,
            contact_id=contact["id"],
            placed_at=f"{day}T10:00:00Z",
            status="paid",
            lines=[{"product_id": product["id"], "quantity": quantity}],
        )
    await make_order(client, workspace)

    async def totals(query: str) -> list[str]:
        response = await client.get(f"/v1/orders?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [order["total"]["amount"] for order in response.json()["data"]]

    assert await totals(f"contact_id={contact['id']}") == ["200.00", "300.00", "100.00"]
    assert await totals(f"contact_id={contact['id']}&sort=total") == [
        "100.00",
        "200.00",
        "300.00",
    ]
    assert await totals(
        "placed_at_gte=2026-02-01T00:00:00Z&placed_at_lte=2026-02-28T00:00:00Z"
    ) == ["300.00"]
    assert await totals("total_gte=150&status=paid") == ["200.00", "300.00"]
    first = await client.get(f"/v1/orders?contact_id={contact['id']}&limit=2", headers=headers)
    rest = await client.get(
        f"/v1/orders?contact_id={contact['id']}&limit=2&cursor={first.json()['next_cursor']}",
        headers=headers,
    )
    assert [o["total"]["amount"] for o in rest.json()["data"]] == ["100.00"]


async def test_an_order_reads_back_as_it_was_created_lines_in_their_places(
    client: AsyncClient, workspace: Workspace
) -> None:
    """GET reads an order and its lines in one statement; it answers what the write did."""
    cheap = await make_product(client, workspace, price={"amount": "0.10", "currency": "KWD"})
    dear = await make_product(client, workspace, price={"amount": "1234.56", "currency": "KWD"})
    order = await make_order(
        client,
        workspace,
        lines=[
            {"product_id": dear["id"], "quantity": 3},
            {"product_id": cheap["id"], "quantity": 7},
            {"product_id": dear["id"], "quantity": 1},
        ],
    )
    read = await client.get(f"/v1/orders/{order['id']}", headers=workspace.headers)
    assert read.status_code == 200
    assert read.json() == order
    assert [line["quantity"] for line in order["lines"]] == [3, 7, 1]
