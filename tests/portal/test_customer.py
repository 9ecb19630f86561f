"""What a signed-in customer does: their record (allowlisted fields only), consents, tickets
(public messages only), orders from the catalog, company sharing, data export, and CORS."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import Workspace, make_company, make_member, make_product
from tests.portal.conftest import Customer, sign_up
from tests.problems import assert_problem

INTERNAL = "Internal: this customer is on the watch list."


async def _patch_me(client: AsyncClient, customer: Customer, body: dict[str, Any]) -> Any:
    current = await client.get("/v1/portal/me", headers=customer.headers)
    return await client.patch(
        "/v1/portal/me",
        json=body,
        headers={**customer.headers, "If-Match": current.headers["ETag"]},
    )


async def test_me_changes_only_allowlisted_fields(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace, lifecycle_stage="customer")
    me = await client.get("/v1/portal/me", headers=customer.headers)
    assert me.status_code == 200
    assert set(me.json()) == {
        "id",
        "first_name",
        "last_name",
        "email",
        "phones",
        "address",
        "company_id",
        "preferences",
        "version",
    }
    changed = await _patch_me(
        client,
        customer,
        {
            "first_name": "Ada",
            "phones": [{"label": "work", "number": "+44 20 7946 0958"}],
            "address": {"city": "London", "country": "GB"},
            "preferences": {"language": "en-GB", "time_zone": "Europe/London"},
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["first_name"] == "Ada"
    assert changed.json()["preferences"]["time_zone"] == "Europe/London"
    staff_view = await client.get(
        f"/v1/contacts/{customer.contact['id']}", headers=workspace.headers
    )
    assert staff_view.json()["address"]["city"] == "London"

    for field, value in (
        ("email", "evil@example.com"),
        ("lifecycle_stage", "evangelist"),
        ("owner_id", None),
        ("tags", ["vip"]),
        ("custom_fields", {"x": 1}),
        ("lead_score", 100),
        ("company_id", None),
    ):
        refused = await _patch_me(client, customer, {field: value})
        assert_problem(refused, 422, field=field)
    assert_problem(await _patch_me(client, customer, {"preferences": {"time_zone": "Mars"}}), 422)
    after = (
        await client.get(f"/v1/contacts/{customer.contact['id']}", headers=workspace.headers)
    ).json()
    assert (after["email"], after["lifecycle_stage"], after["tags"]) == (
        customer.email,
        "customer",
        [],
    )
    stale = await client.patch(
        "/v1/portal/me", json={"first_name": "X"}, headers={**customer.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412)


async def test_consents_are_recorded_per_channel_with_time_and_source(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    initial = (await client.get("/v1/portal/consents", headers=customer.headers)).json()
    assert initial["email"] == {"granted": False, "changed_at": None, "source": None}
    granted = await client.patch(
        "/v1/portal/consents", json={"email": True, "sms": True}, headers=customer.headers
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["email"]["granted"] is True
    assert granted.json()["email"]["source"] == "portal"
    assert granted.json()["phone"]["granted"] is False
    withdrawn = await client.patch(
        "/v1/portal/consents", json={"sms": False, "email": True}, headers=customer.headers
    )
    assert withdrawn.json()["sms"]["granted"] is False
    history = await connection.execute(
        text(
            "SELECT purpose, granted, source, actor_type FROM contact_consents"
            " WHERE contact_id = :c ORDER BY recorded_at, purpose"
        ),
        {"c": customer.contact["id"]},
    )
    assert sorted(map(tuple, history)) == [
        ("marketing_email", True, "portal", "portal_user"),
        ("marketing_sms", False, "portal", "portal_user"),
        ("marketing_sms", True, "portal", "portal_user"),
    ]
    assert_problem(
        await client.patch("/v1/portal/consents", json={"fax": True}, headers=customer.headers),
        422,
        field="fax",
    )


async def test_tickets_from_opening_to_rating_never_show_internal_notes(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    agent = await make_member(client, workspace, role="agent")
    opened = await client.post(
        "/v1/portal/tickets",
        json={"subject": "Cannot log in", "description": "Since Monday."},
        headers=customer.headers,
    )
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert opened.headers["Location"] == f"/v1/portal/tickets/{ticket['id']}"
    staff_ticket = (
        await client.get(f"/v1/tickets/{ticket['id']}", headers=workspace.headers)
    ).json()
    assert (staff_ticket["channel"], staff_ticket["requester_id"]) == (
        "portal",
        customer.contact["id"],
    )
    for body in (
        {"body": "Looking into it.", "author_member_id": agent["id"]},
        {"body": INTERNAL, "visibility": "internal", "author_member_id": agent["id"]},
    ):
        response = await client.post(
            f"/v1/tickets/{ticket['id']}/messages", json=body, headers=workspace.headers
        )
        assert response.status_code == 201
    replied = await client.post(
        f"/v1/portal/tickets/{ticket['id']}/messages",
        json={"body": "Thanks!"},
        headers=customer.headers,
    )
    assert replied.status_code == 201, replied.text
    messages = await client.get(
        f"/v1/portal/tickets/{ticket['id']}/messages", headers=customer.headers
    )
    assert [(m["author_type"], m["body"]) for m in messages.json()["data"]] == [
        ("member", "Looking into it."),
        ("requester", "Thanks!"),
    ]
    assert "visibility" not in messages.json()["data"][0]
    for path in ("tickets", f"tickets/{ticket['id']}", "data-export"):
        response = await client.get(f"/v1/portal/{path}", headers=customer.headers)
        assert response.status_code == 200
        assert INTERNAL not in response.text
        assert "assignee_id" not in response.text
        assert "sla_policy_id" not in response.text

    # Not yet solved: no rating. Closing solves and closes.
    early = await client.post(
        f"/v1/portal/tickets/{ticket['id']}/rating", json={"score": 5}, headers=customer.headers
    )
    assert_problem(early, 409)
    closed = await client.post(f"/v1/portal/tickets/{ticket['id']}/close", headers=customer.headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert_problem(
        await client.post(f"/v1/portal/tickets/{ticket['id']}/close", headers=customer.headers),
        409,
    )
    rated = await client.post(
        f"/v1/portal/tickets/{ticket['id']}/rating",
        json={"score": 4, "comment": "Quick."},
        headers=customer.headers,
    )
    assert rated.status_code == 201, rated.text
    assert rated.json()["score"] == 4
    assert_problem(
        await client.post(
            f"/v1/portal/tickets/{ticket['id']}/rating", json={"score": 5}, headers=customer.headers
        ),
        409,
    )
    assert_problem(
        await client.post(
            f"/v1/portal/tickets/{ticket['id']}/messages",
            json={"body": "One more thing"},
            headers=customer.headers,
        ),
        409,
    )
    # Events name the portal user as the actor.
    actor = await connection.scalar(
        text("SELECT actor_type FROM events WHERE resource_id = :t AND type = 'ticket.created'"),
        {"t": ticket["id"]},
    )
    assert actor == "portal_user"
    listed = await client.get("/v1/portal/tickets?status=closed&limit=1", headers=customer.headers)
    assert [t["id"] for t in listed.json()["data"]] == [ticket["id"]]


async def test_orders_come_from_active_catalog_products(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    plan = await make_product(client, workspace, name="Pro plan")
    retired = await make_product(client, workspace, name="Old plan", active=False)
    catalog = await client.get("/v1/portal/products", headers=customer.headers)
    assert [p["name"] for p in catalog.json()["data"]] == ["Pro plan"]
    placed = await client.post(
        "/v1/portal/orders",
        json={"lines": [{"product_id": plan["id"], "quantity": 2}], "note": "Invoice please"},
        headers=customer.headers,
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["status"], order["total"]) == ("placed", {"amount": "200.00", "currency": "EUR"})
    assert order["contact_id"] == customer.contact["id"]
    refused = await client.post(
        "/v1/portal/orders",
        json={"lines": [{"product_id": retired["id"], "quantity": 1}]},
        headers=customer.headers,
    )
    assert_problem(refused, 422)
    assert refused.json()["errors"][0]["loc"] == ["body", "lines", 0, "product_id"]
    priced = await client.post(
        "/v1/portal/orders",
        json={"lines": [{"product_id": plan["id"], "quantity": 1, "unit_price": "0.01"}]},
        headers=customer.headers,
    )
    assert_problem(priced, 422)
    mine = await client.get("/v1/portal/orders", headers=customer.headers)
    assert [o["id"] for o in mine.json()["data"]] == [order["id"]]
    one = await client.get(f"/v1/portal/orders/{order['id']}", headers=customer.headers)
    assert one.json()["lines"][0]["quantity"] == 2


async def test_company_sharing_is_a_workspace_setting(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    company = await make_company(client, workspace, domain="acme-shared.example")
    alice = await sign_up(client, connection, workspace, company_id=company["id"])
    bob = await sign_up(client, connection, workspace, company_id=company["id"])
    loner = await sign_up(client, connection, workspace)
    ticket = (
        await client.post("/v1/portal/tickets", json={"subject": "Shared"}, headers=alice.headers)
    ).json()
    plan = await make_product(client, workspace)
    order = (
        await client.post(
            "/v1/portal/orders",
            json={"lines": [{"product_id": plan["id"], "quantity": 1}]},
            headers=alice.headers,
        )
    ).json()
    urls = (f"/v1/portal/tickets/{ticket['id']}", f"/v1/portal/orders/{order['id']}")
    for url in urls:
        assert_problem(await client.get(url, headers=bob.headers), 404)

    current = await client.get("/v1/workspace", headers=workspace.headers)
    shared = await client.patch(
        "/v1/workspace",
        json={"portal_company_sharing": True},
        headers={**workspace.headers, "If-Match": current.headers["ETag"]},
    )
    assert shared.status_code == 200, shared.text
    for url in urls:
        assert (await client.get(url, headers=bob.headers)).status_code == 200
        assert_problem(await client.get(url, headers=loner.headers), 404)
    bob_tickets = await client.get("/v1/portal/tickets", headers=bob.headers)
    assert [t["id"] for t in bob_tickets.json()["data"]] == [ticket["id"]]
    # A colleague sees it but the rating stays with the customer who asked.
    assert_problem(
        await client.post(f"{urls[0]}/rating", json={"score": 1}, headers=bob.headers), 409
    )
    # Their own data export stays their own.
    export = await client.get("/v1/portal/data-export", headers=bob.headers)
    assert ticket["id"] not in export.text
    assert order["id"] not in export.text


async def test_data_export_holds_everything_about_the_customer(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace, first_name="Export")
    await client.patch("/v1/portal/consents", json={"email": True}, headers=customer.headers)
    ticket = (
        await client.post("/v1/portal/tickets", json={"subject": "Help"}, headers=customer.headers)
    ).json()
    logged = await client.post(
        "/v1/interactions",
        json={
            "kind": "call",
            "direction": "outbound",
            "contact_id": customer.contact["id"],
            "body": "Discussed renewal.",
            "occurred_at": "2026-11-01T10:00:00Z",
        },
        headers=workspace.headers,
    )
    assert logged.status_code == 201
    export = await client.get("/v1/portal/data-export", headers=customer.headers)
    assert export.status_code == 200
    data = export.json()
    assert data["contact"]["first_name"] == "Export"
    assert "owner_id" not in data["contact"]
    assert "tags" not in data["contact"]
    assert data["portal_account"]["email"] == customer.email
    assert "password_hash" not in export.text
    assert [c["purpose"] for c in data["consents"]] == ["marketing_email"]
    assert [t["id"] for t in data["tickets"]] == [ticket["id"]]
    assert [i["body"] for i in data["interactions"]] == ["Discussed renewal."]


async def test_cors_answers_the_workspaces_portal_origins(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    preflight = {
        "Origin": "https://portal.acme.example",
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, if-match",
    }
    refused = await client.options("/v1/portal/me", headers=preflight)
    assert "access-control-allow-origin" not in refused.headers
    current = await client.get("/v1/workspace", headers=workspace.headers)
    updated = await client.patch(
        "/v1/workspace",
        json={"portal_origins": ["https://portal.acme.example"]},
        headers={**workspace.headers, "If-Match": current.headers["ETag"]},
    )
    assert updated.status_code == 200, updated.text
    allowed = await client.options("/v1/portal/me", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://portal.acme.example"
    assert "PATCH" in allowed.headers["access-control-allow-methods"]
    simple = await client.get(
        "/v1/portal/me", headers={**customer.headers, "Origin": "https://portal.acme.example"}
    )
    assert simple.headers["access-control-allow-origin"] == "https://portal.acme.example"
    assert "ETag" in simple.headers["access-control-expose-headers"]
    assert "RateLimit" in simple.headers["access-control-expose-headers"]
    other = await client.get(
        "/v1/portal/me", headers={**customer.headers, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers
    staff = await client.get(
        "/v1/contacts", headers={**workspace.headers, "Origin": "https://portal.acme.example"}
    )
    assert "access-control-allow-origin" not in staff.headers
    assert_problem(
        await client.patch(
            "/v1/workspace",
            json={"portal_origins": ["javascript:alert(1)"]},
            headers={**workspace.headers, "If-Match": updated.headers["ETag"]},
        ),
        422,
    )
