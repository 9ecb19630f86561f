"""Interactions: every channel, a sentiment score for inbound text, filters, events."""

import pytest
from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_deal, make_interaction, make_member
from tests.problems import assert_problem


async def test_inbound_text_gets_a_sentiment_score(
    client: AsyncClient, workspace: Workspace
) -> None:
    angry = await make_interaction(
        client, workspace, subject="Refund", body="This is terrible, I am very disappointed."
    )
    happy = await make_interaction(client, workspace, body="Thanks, great service!")
    outbound = await make_interaction(
        client, workspace, direction="outbound", body="This is terrible news, sorry."
    )
    assert angry["sentiment"] < -0.5
    assert happy["sentiment"] > 0.5
    assert outbound["sentiment"] is None
    negative = await client.get("/v1/interactions?sentiment_lte=-0.3", headers=workspace.headers)
    assert [i["id"] for i in negative.json()["data"]] == [angry["id"]]
    rescored = await client.patch(
        f"/v1/interactions/{happy['id']}",
        json={"body": "Awful. Nothing works."},
        headers={**workspace.headers, "If-Match": '"1"'},
    )
    assert rescored.json()["sentiment"] < 0


async def test_create_read_update_delete_with_links(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    member = await make_member(client, workspace)
    deal = await make_deal(client, workspace)
    response = await client.post(
        "/v1/interactions",
        json={
            "kind": "call",
            "direction": "outbound",
            "occurred_at": "2026-11-20T09:30:00Z",
            "duration_seconds": 300,
            "outcome": "interested",
            "contact_id": contact["id"],
            "member_id": member["id"],
            "deal_id": deal["id"],
        },
        headers=workspace.headers,
    )
    assert response.status_code == 201
    call = response.json()
    url = response.headers["location"]
    assert (await client.get(url, headers=workspace.headers)).json() == call
    stale = await client.patch(
        url, json={"outcome": "x"}, headers={**workspace.headers, "If-Match": '"9"'}
    )
    assert_problem(stale, 412)
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    assert_problem(await client.get(url, headers=workspace.headers), 404)
    events = await client.get(f"/v1/events?resource_id={call['id']}", headers=workspace.headers)
    assert [e["type"] for e in events.json()["data"]] == [
        "interaction.created",
        "interaction.deleted",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"direction": "sideways"}, "direction"),
        ({"contact_id": "01a20000-0000-7000-8000-000000000000"}, "contact_id"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"duration_seconds": -5}, "duration_seconds"),
    ],
)
async def test_invalid_interactions_are_422(
    client: AsyncClient, workspace: Workspace, body: dict[str, object], field: str
) -> None:
    contact = await make_contact(client, workspace)
    base = {
        "kind": "email",
        "direction": "inbound",
        "occurred_at": "2026-11-01T10:00:00Z",
        "contact_id": contact["id"],
    }
    response = await client.post(
        "/v1/interactions", json={**base, **body}, headers=workspace.headers
    )
    assert_problem(response, 422, field=field)


async def test_filters_and_order(client: AsyncClient, workspace: Workspace) -> None:
    contact = await make_contact(client, workspace)
    first = await make_interaction(
        client, workspace, contact_id=contact["id"], kind="call", occurred_at="2026-01-01T00:00:00Z"
    )
    second = await make_interaction(
        client, workspace, contact_id=contact["id"], kind="sms", occurred_at="2026-02-01T00:00:00Z"
    )
    await make_interaction(client, workspace)  # another contact
    query = f"/v1/interactions?contact_id={contact['id']}"
    newest = (await client.get(query, headers=workspace.headers)).json()["data"]
    assert [i["id"] for i in newest] == [second["id"], first["id"]]
    calls = (await client.get(f"{query}&kind=call", headers=workspace.headers)).json()["data"]
    assert [i["id"] for i in calls] == [first["id"]]
    january = await client.get(
        f"{query}&occurred_at_lte=2026-01-15T00:00:00Z", headers=workspace.headers
    )
    assert [i["id"] for i in january.json()["data"]] == [first["id"]]
