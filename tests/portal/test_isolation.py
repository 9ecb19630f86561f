"""Two customers of one workspace and one of another: on every portal route none can read,
change or even detect another's records. The routes are read from the OpenAPI document, so a
new portal route is walked as soon as it exists."""

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.contract import PATHS
from tests.factories import Workspace, make_member, make_product
from tests.portal.conftest import Customer, sign_up

_PATHS = PATHS
_PORTAL = [
    (path, method.upper())
    for path, operations in _PATHS.items()
    if path.startswith("/v1/portal/")
    for method, operation in operations.items()
    if operation.get("security") != []  # the sign-in routes take no token
]
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/portal/tickets/{ticket_id}/messages"): {"body": "Is this yours?"},
    ("POST", "/v1/portal/tickets/{ticket_id}/rating"): {"score": 1},
}
SECRET = "Internal note: do not show the customer."


@dataclass
class Holdings:
    customer: Customer
    ticket_id: str
    order_id: str
    product_id: str  # the workspace's catalogue, which every customer of it sees

    def ids(self) -> dict[str, str]:
        return {"ticket_id": self.ticket_id, "order_id": self.order_id}


async def _holdings(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> Holdings:
    customer = await sign_up(client, connection, workspace)
    ticket = await client.post(
        "/v1/portal/tickets", json={"subject": "Mine"}, headers=customer.headers
    )
    product = await make_product(client, workspace)
    order = await client.post(
        "/v1/portal/orders",
        json={"lines": [{"product_id": product["id"], "quantity": 1}]},
        headers=customer.headers,
    )
    agent = await make_member(client, workspace, role="agent")
    note = await client.post(
        f"/v1/tickets/{ticket.json()['id']}/messages",
        json={"body": SECRET, "visibility": "internal", "author_member_id": agent["id"]},
        headers=workspace.headers,
    )
    assert note.status_code == 201
    consented = await client.patch(
        "/v1/portal/consents", json={"email": True}, headers=customer.headers
    )
    assert consented.status_code == 200, consented.text
    return Holdings(customer, ticket.json()["id"], order.json()["id"], product["id"])


@pytest.fixture
async def three(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    other_workspace: Workspace,
) -> tuple[Holdings, Holdings, Holdings]:
    return (
        await _holdings(client, connection, workspace),
        await _holdings(client, connection, workspace),
        await _holdings(client, connection, other_workspace),
    )


@pytest.mark.parametrize(("path", "method"), [p for p in _PORTAL if "{" in p[0]])
async def test_another_customers_record_is_not_found(
    client: AsyncClient, three: tuple[Holdings, Holdings, Holdings], path: str, method: str
) -> None:
    me, neighbour, stranger = three
    body = BODIES.get((method, path), {}) if method in {"POST", "PATCH"} else None
    names = re.findall(r"{(\w+)}", path)
    for other in (neighbour, stranger):
        url = path.format(**{name: other.ids()[name] for name in names})
        response = await client.request(method, url, json=body, headers=me.customer.headers)
        assert response.status_code == 404, (url, response.text)
        # Indistinguishable from an id that exists nowhere.
        nowhere = str(uuid.UUID(int=uuid.uuid4().int))
        absent = await client.request(
            method,
            path.format(**dict.fromkeys(names, nowhere)),
            json=body,
            headers=me.customer.headers,
        )
        assert absent.status_code == 404
        assert response.json()["detail"].replace(other.ids()[names[0]], "ID") == absent.json()[
            "detail"
        ].replace(nowhere, "ID")
    # The owner reaches the same record, so the 404s were about whose it is.
    own = path.format(**{name: me.ids()[name] for name in names})
    owner = await client.request(method, own, json=body, headers=me.customer.headers)
    assert owner.status_code != 404, owner.text
    assert SECRET not in owner.text


@pytest.mark.parametrize("path", [p for p, method in _PORTAL if method == "GET" and "{" not in p])
async def test_lists_and_reads_show_only_the_customers_own_records(
    client: AsyncClient, three: tuple[Holdings, Holdings, Holdings], path: str
) -> None:
    me, neighbour, stranger = three
    foreign = [
        value
        for other in (neighbour, stranger)
        for value in (*other.ids().values(), other.customer.contact["id"], other.customer.email)
    ]
    response = await client.get(path, headers=me.customer.headers)
    assert response.status_code == 200, response.text
    assert not any(value in response.text for value in foreign), path
    # The customer's own records are there, so the absence above is not an empty answer.
    if path == "/v1/portal/consents":  # per channel, no ids: the consent given in _holdings
        assert response.json()["email"]["granted"] is True
    else:
        own = [*me.ids().values(), me.customer.contact["id"], me.customer.email, me.product_id]
        assert any(value in response.text for value in own), response.text
    assert SECRET not in response.text


async def test_filters_and_cursors_stay_inside(
    client: AsyncClient, three: tuple[Holdings, Holdings, Holdings]
) -> None:
    me, neighbour, stranger = three
    # A cursor from a neighbour's list pages through my records, never theirs.
    for _ in range(2):
        await client.post(
            "/v1/portal/tickets", json={"subject": "More"}, headers=neighbour.customer.headers
        )
    theirs = await client.get("/v1/portal/tickets?limit=1", headers=neighbour.customer.headers)
    cursor = theirs.json()["next_cursor"]
    assert cursor
    mine = await client.get(
        f"/v1/portal/tickets?limit=100&cursor={cursor}", headers=me.customer.headers
    )
    assert mine.status_code == 200
    assert neighbour.ticket_id not in mine.text
    assert [t["id"] for t in mine.json()["data"]] == [me.ticket_id]  # mine, and only mine
    # Filters are the customer's own only: staff filters are refused, not widened.
    for query in (
        f"requester_id={neighbour.customer.contact['id']}",
        f"contact_id={stranger.customer.contact['id']}",
        "archived=true",
    ):
        assert (
            await client.get(f"/v1/portal/tickets?{query}", headers=me.customer.headers)
        ).status_code == 422
    for path in ("/v1/portal/tickets", "/v1/portal/orders", "/v1/portal/products"):
        for query in ("sort=' OR 1=1 --", "limit=1;DROP TABLE tickets", "status=%00", "cursor='"):
            response = await client.get(f"{path}?{query}", headers=me.customer.headers)
            assert response.status_code == 422, (path, query, response.text)
