"""Tickets: the workflow, the conversation, first response, archive, filters and the timeline."""

import uuid

from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_member, make_ticket
from tests.problems import assert_problem


async def _status(client: AsyncClient, workspace: Workspace, url: str, status: str) -> int:
    response = await client.patch(url, json={"status": status}, headers=workspace.headers)
    return response.status_code


async def test_the_workflow_and_its_refusals(client: AsyncClient, workspace: Workspace) -> None:
    ticket = await make_ticket(client, workspace, channel="email", priority="high")
    assert ticket["status"] == "new"
    url = f"/v1/tickets/{ticket['id']}"
    for status in ("open", "pending", "on_hold", "open", "solved"):
        assert await _status(client, workspace, url, status) == 200, status
    solved = (await client.get(url, headers=workspace.headers)).json()
    assert solved["solved_at"] is not None
    refused = await client.patch(url, json={"status": "pending"}, headers=workspace.headers)
    problem = assert_problem(refused, 409)
    assert problem["allowed"] == ["closed", "open"]
    assert await _status(client, workspace, url, "open") == 200  # reopened
    assert (await client.get(url, headers=workspace.headers)).json()["solved_at"] is None
    for status in ("solved", "closed"):
        assert await _status(client, workspace, url, status) == 200
    closed = await client.patch(url, json={"status": "open"}, headers=workspace.headers)
    assert assert_problem(closed, 409)["allowed"] == []
    assert_problem(await client.patch(url, json={"status": "lost"}, headers=workspace.headers), 422)
    events = await client.get(
        f"/v1/events?resource_id={ticket['id']}&type=ticket.status_changed&limit=100",
        headers=workspace.headers,
    )
    assert len(events.json()["data"]) == 8


async def test_the_conversation_and_first_response(
    client: AsyncClient, workspace: Workspace
) -> None:
    agent = await make_member(client, workspace, role="agent")
    ticket = await make_ticket(client, workspace)
    url = f"/v1/tickets/{ticket['id']}"
    note = await client.post(
        f"{url}/messages",
        json={
            "body": "Customer is a VIP",
            "visibility": "internal",
            "author_member_id": agent["id"],
        },
        headers=workspace.headers,
    )
    assert note.status_code == 201
    assert (await client.get(url, headers=workspace.headers)).json()["first_responded_at"] is None
    await client.post(
        f"{url}/messages",
        json={"body": "We are on it.", "author_member_id": agent["id"]},
        headers=workspace.headers,
    )
    responded = (await client.get(url, headers=workspace.headers)).json()["first_responded_at"]
    assert responded is not None
    await client.patch(url, json={"status": "pending"}, headers=workspace.headers)
    answer = await client.post(
        f"{url}/messages",
        json={"body": "Still broken", "author": "requester"},
        headers=workspace.headers,
    )
    assert answer.json()["author_type"] == "requester"
    after = (await client.get(url, headers=workspace.headers)).json()
    assert after["status"] == "open"  # the customer answered: back on us
    assert after["first_responded_at"] == responded
    hidden = await client.post(
        f"{url}/messages",
        json={"body": "x", "visibility": "internal", "author": "requester"},
        headers=workspace.headers,
    )
    assert_problem(hidden, 422, field="visibility")
    public = await client.get(f"{url}/messages?visibility=public", headers=workspace.headers)
    assert [m["body"] for m in public.json()["data"]] == ["We are on it.", "Still broken"]


async def test_invalid_tickets_filters_and_archive(
    client: AsyncClient, workspace: Workspace
) -> None:
    for body, field in (
        ({"subject": "x", "requester_id": "01a20000-0000-7000-8000-000000000000"}, "requester_id"),
        ({"subject": "x"}, "requester_id"),
        (
            {
                "subject": "x",
                "requester_id": "01a20000-0000-7000-8000-000000000000",
                "priority": "p0",
            },
            "priority",
        ),
    ):
        assert_problem(
            await client.post("/v1/tickets", json=body, headers=workspace.headers), 422, field=field
        )
    requester = await make_contact(client, workspace)
    urgent = await make_ticket(client, workspace, requester_id=requester["id"], priority="urgent")
    await make_ticket(client, workspace, priority="low", channel="chat")
    found = await client.get(
        f"/v1/tickets?priority=urgent&requester_id={requester['id']}", headers=workspace.headers
    )
    assert [t["id"] for t in found.json()["data"]] == [urgent["id"]]
    chats = await client.get("/v1/tickets?channel=chat", headers=workspace.headers)
    assert len(chats.json()["data"]) == 1
    url = f"/v1/tickets/{urgent['id']}"
    assert_problem(await client.delete(url, headers=workspace.headers), 409)
    await client.post(f"{url}/archive", headers=workspace.headers)
    assert_problem(
        await client.post(f"{url}/messages", json={"body": "x"}, headers=workspace.headers), 409
    )
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204


async def test_ticket_events_appear_in_the_contact_timeline(
    client: AsyncClient, workspace: Workspace
) -> None:
    requester = await make_contact(client, workspace)
    ticket = await make_ticket(client, workspace, requester_id=requester["id"])
    await client.patch(
        f"/v1/tickets/{ticket['id']}", json={"status": "open"}, headers=workspace.headers
    )
    timeline = await client.get(
        f"/v1/contacts/{requester['id']}/timeline?kind=ticket_status_change",
        headers=workspace.headers,
    )
    changes = [(e["data"]["from_status"], e["data"]["to_status"]) for e in timeline.json()["data"]]
    assert changes == [("new", "open"), (None, "new")]


async def test_staff_replies_are_a_members_voice_and_stop_the_first_response_clock(
    client: AsyncClient, workspace: Workspace
) -> None:
    """A reply through the staff API is the agent's: the key's member, or a named one, or the
    workspace's owner (the first admin, made with the workspace); never the requester's."""
    members = (await client.get("/v1/members", headers=workspace.headers)).json()["data"]
    (owner,) = [member for member in members if member["role"] == "admin"]
    ticket = await make_ticket(client, workspace)
    url = f"/v1/tickets/{ticket['id']}"
    reply = await client.post(f"{url}/messages", json={"body": "On it."}, headers=workspace.headers)
    assert reply.status_code == 201, reply.text
    assert (reply.json()["author_type"], reply.json()["author_member_id"]) == (
        "member",
        owner["id"],
    )
    assert (await client.get(url, headers=workspace.headers)).json()["first_responded_at"]

    agent = await make_member(client, workspace, role="agent")
    created = await client.post(
        "/v1/api-keys",
        json={"name": "Agent desk", "scopes": ["tickets:write"], "member_id": agent["id"]},
        headers=workspace.headers,
    )
    assert created.json()["member_id"] == agent["id"]
    agent_key = {"Authorization": f"Bearer {created.json()['secret']}"}
    by_agent = await client.post(f"{url}/messages", json={"body": "Fixed."}, headers=agent_key)
    assert by_agent.json()["author_member_id"] == agent["id"]
    named = await client.post(
        f"{url}/messages",
        json={"body": "Checked.", "author_member_id": owner["id"]},
        headers=agent_key,
    )
    assert named.json()["author_member_id"] == owner["id"]
    both = await client.post(
        f"{url}/messages",
        json={"body": "x", "author": "requester", "author_member_id": agent["id"]},
        headers=workspace.headers,
    )
    assert_problem(both, 422)
    unknown = await client.post(
        "/v1/api-keys",
        json={"name": "x", "scopes": ["tickets:write"], "member_id": str(uuid.uuid4())},
        headers=workspace.headers,
    )
    assert_problem(unknown, 422, field="member_id")


async def test_a_staff_reply_with_no_member_to_write_as_is_a_clear_422(
    client: AsyncClient, workspace: Workspace
) -> None:
    members = (await client.get("/v1/members", headers=workspace.headers)).json()["data"]
    (owner,) = [member for member in members if member["role"] == "admin"]
    demoted = await client.patch(
        f"/v1/members/{owner['id']}",
        json={"role": "agent"},
        headers={**workspace.headers, "If-Match": f'"{owner["version"]}"'},
    )
    assert demoted.status_code == 200, demoted.text
    ticket = await make_ticket(client, workspace)
    # A key that acts for no member, in a workspace with no admin left to fall back on.
    created = await client.post(
        "/v1/api-keys",
        json={"name": "Integration", "scopes": ["tickets:write"]},
        headers=workspace.headers,
    )
    integration = {"Authorization": f"Bearer {created.json()['secret']}"}
    reply = await client.post(
        f"/v1/tickets/{ticket['id']}/messages", json={"body": "Hi"}, headers=integration
    )
    assert_problem(reply, 422, field="author_member_id")
    assert "ck_" not in reply.text
