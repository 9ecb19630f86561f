"""Escalation: a clearly negative customer message (threshold per workspace) moves the ticket a
priority step up, to the least loaded escalation target, with the reason and `ticket.escalated`;
and two breach sweeps side by side record a breach once."""

import asyncio
import uuid
from datetime import datetime

import time_machine
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.tickets.service import sweep_sla_breaches
from tests.factories import (
    Workspace,
    make_contact,
    make_member,
    make_sla_policy,
    make_ticket,
    new_workspace,
)
from tests.problems import assert_problem

ANGRY = "This is terrible. I am furious and deeply disappointed, nothing works!"
HAPPY = "Thanks a lot, that was great help."


async def _message(
    client: AsyncClient, workspace: Workspace, ticket_id: str, body: str, **fields: str
) -> dict[str, object]:
    response = await client.post(
        f"/v1/tickets/{ticket_id}/messages",
        # The requester's words unless a member is named.
        json={"body": body, "author": "member" if fields else "requester", **fields},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, object] = response.json()
    return data


async def test_a_negative_customer_message_escalates_to_the_least_loaded_target(
    client: AsyncClient, workspace: Workspace
) -> None:
    busy = await make_member(client, workspace, role="agent", escalation_target=True)
    free = await make_member(client, workspace, role="agent", escalation_target=True)
    plain = await make_member(client, workspace, role="agent")
    await make_ticket(client, workspace, assignee_id=busy["id"])
    ticket = await make_ticket(client, workspace, assignee_id=plain["id"], priority="low")
    url = f"/v1/tickets/{ticket['id']}"

    calm = await _message(client, workspace, ticket["id"], HAPPY)
    assert float(str(calm["sentiment"])) > 0
    unchanged = (await client.get(url, headers=workspace.headers)).json()
    assert (unchanged["priority"], unchanged["escalation_reason"]) == ("low", None)
    # A member's bitter words are not the customer's.
    staff = await _message(client, workspace, ticket["id"], ANGRY, author_member_id=plain["id"])
    assert staff["sentiment"] is None
    assert (await client.get(url, headers=workspace.headers)).json()["priority"] == "low"

    angry = await _message(client, workspace, ticket["id"], ANGRY)
    assert float(str(angry["sentiment"])) <= -0.5
    escalated = (await client.get(url, headers=workspace.headers)).json()
    assert escalated["priority"] == "normal"
    assert escalated["assignee_id"] == free["id"]
    assert escalated["escalation_reason"] == "negative_sentiment"
    assert escalated["escalated_at"] is not None
    events = await client.get(
        f"/v1/events?resource_id={ticket['id']}&type=ticket.escalated", headers=workspace.headers
    )
    [event] = events.json()["data"]
    assert event["previous"]["priority"] == "low"
    assert event["previous"]["assignee_id"] == plain["id"]
    # The conversation stays with the ticket.
    messages = await client.get(f"{url}/messages", headers=workspace.headers)
    assert len(messages.json()["data"]) == 3

    # Now both targets carry one open ticket; the next escalation goes to the earlier member,
    # and priority stops at urgent.
    again = await make_ticket(client, workspace, priority="urgent")
    await _message(client, workspace, again["id"], ANGRY)
    later = (await client.get(f"/v1/tickets/{again['id']}", headers=workspace.headers)).json()
    assert later["priority"] == "urgent"
    assert later["assignee_id"] == min(busy["id"], free["id"], key=uuid.UUID)


async def test_the_threshold_is_the_workspaces_and_interactions_count_too(
    client: AsyncClient, workspace: Workspace
) -> None:
    current = await client.get("/v1/workspace", headers=workspace.headers)
    assert current.json()["escalation_sentiment_threshold"] in ("-0.5", "-0.500", -0.5)
    refused = await client.patch(
        "/v1/workspace", json={"escalation_sentiment_threshold": -2}, headers=workspace.headers
    )
    assert_problem(refused, 422, field="escalation_sentiment_threshold")
    stale = await client.patch(
        "/v1/workspace",
        json={"escalation_sentiment_threshold": -0.99},
        headers={**workspace.headers, "If-Match": '"42"'},
    )
    assert_problem(stale, 412)
    changed = await client.patch(
        "/v1/workspace",
        json={"escalation_sentiment_threshold": -0.99},
        headers={**workspace.headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == current.json()["version"] + 1

    ticket = await make_ticket(client, workspace)
    await _message(client, workspace, ticket["id"], ANGRY)
    url = f"/v1/tickets/{ticket['id']}"
    assert (await client.get(url, headers=workspace.headers)).json()["escalation_reason"] is None

    await client.patch(
        "/v1/workspace", json={"escalation_sentiment_threshold": -0.3}, headers=workspace.headers
    )
    call = await client.post(
        "/v1/interactions",
        json={
            "kind": "call",
            "direction": "inbound",
            "contact_id": ticket["requester_id"],
            "ticket_id": ticket["id"],
            "body": ANGRY,
            "occurred_at": "2026-03-02T09:00:00Z",
        },
        headers=workspace.headers,
    )
    assert call.status_code == 201, call.text
    escalated = (await client.get(url, headers=workspace.headers)).json()
    assert (escalated["priority"], escalated["escalation_reason"]) == ("high", "negative_sentiment")


async def test_activities_must_name_a_ticket_of_the_workspace(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    foreign = await make_ticket(client, other_workspace)
    for path, body in (
        (
            "/v1/interactions",
            {
                "kind": "note",
                "direction": "outbound",
                "contact_id": contact["id"],
                "occurred_at": "2026-03-02T09:00:00Z",
            },
        ),
        ("/v1/tasks", {"title": "Call back"}),
    ):
        refused = await client.post(
            path, json={**body, "ticket_id": foreign["id"]}, headers=workspace.headers
        )
        assert_problem(refused, 422, field="ticket_id")


async def test_two_sweeps_side_by_side_record_a_breach_once(
    committing_app: FastAPI, committing_client: AsyncClient
) -> None:
    workspace = await new_workspace(committing_app, "Sweeps")
    await make_sla_policy(
        committing_client,
        workspace,
        is_default=True,
        targets={"normal": {"first_response_minutes": 5}},
    )
    with time_machine.travel(datetime.fromisoformat("2026-03-02T09:00:00+00:00"), tick=False):
        ticket = await make_ticket(committing_client, workspace)
    with time_machine.travel(datetime.fromisoformat("2026-03-02T09:30:00+00:00"), tick=False):
        sessionmaker = committing_app.state.sessionmaker
        await asyncio.gather(*(sweep_sla_breaches(sessionmaker) for _ in range(4)))
        await sweep_sla_breaches(sessionmaker)
    events = await committing_client.get(
        f"/v1/events?resource_id={ticket['id']}&type=ticket.sla_breached",
        headers=workspace.headers,
    )
    assert len(events.json()["data"]) == 1
