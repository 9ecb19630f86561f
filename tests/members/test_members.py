"""Members: CRUD, unique email per workspace, removal refused while they own records."""

from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_member, make_ticket
from tests.problems import assert_problem


async def test_member_crud(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/members",
        json={"name": "Agent Smith", "email": "smith@example.com", "role": "agent"},
        headers=workspace.headers,
    )
    assert response.status_code == 201
    member = response.json()
    url = response.headers["location"]
    assert url == f"/v1/members/{member['id']}"
    assert (await client.get(url, headers=workspace.headers)).json() == member

    updated = await client.patch(
        url, json={"role": "manager"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert updated.json()["role"] == "manager"
    assert updated.json()["email"] == "smith@example.com"

    listed = await client.get("/v1/members?role=manager", headers=workspace.headers)
    assert [m["id"] for m in listed.json()["data"]] == [member["id"]]
    assert (await client.get("/v1/members?role=sales", headers=workspace.headers)).json()[
        "data"
    ] == []

    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    assert_problem(await client.get(url, headers=workspace.headers), 404)


async def test_invalid_role_and_email_are_422(client: AsyncClient, workspace: Workspace) -> None:
    bad_role = await client.post(
        "/v1/members",
        json={"name": "X", "email": "x@example.com", "role": "owner"},
        headers=workspace.headers,
    )
    assert_problem(bad_role, 422, field="role")
    bad_email = await client.post(
        "/v1/members", json={"name": "X", "email": "nope"}, headers=workspace.headers
    )
    assert_problem(bad_email, 422, field="email")


async def test_duplicate_email_is_409(client: AsyncClient, workspace: Workspace) -> None:
    first = await make_member(client, workspace, email="dup@example.com")
    response = await client.post(
        "/v1/members", json={"name": "Y", "email": "DUP@example.com"}, headers=workspace.headers
    )
    assert assert_problem(response, 409, field="email")["existing_id"] == first["id"]


async def test_a_member_owning_contacts_cannot_be_removed(
    client: AsyncClient, workspace: Workspace
) -> None:
    owner = await make_member(client, workspace)
    contact = await make_contact(client, workspace, owner_id=owner["id"])
    assert_problem(
        await client.delete(f"/v1/members/{owner['id']}", headers=workspace.headers), 409
    )
    await client.patch(
        f"/v1/contacts/{contact['id']}", json={"owner_id": None}, headers=workspace.headers
    )
    response = await client.delete(f"/v1/members/{owner['id']}", headers=workspace.headers)
    assert response.status_code == 204


async def test_a_member_who_wrote_ticket_messages_gets_a_409_in_words(
    client: AsyncClient, workspace: Workspace
) -> None:
    agent = await make_member(client, workspace, role="agent")
    ticket = await make_ticket(client, workspace)
    reply = await client.post(
        f"/v1/tickets/{ticket['id']}/messages",
        json={"body": "On it.", "author_member_id": agent["id"]},
        headers=workspace.headers,
    )
    assert reply.status_code == 201
    refused = await client.delete(f"/v1/members/{agent['id']}", headers=workspace.headers)
    assert_problem(refused, 409)
    assert refused.json()["detail"] == (
        "Other records still refer to this one (ticket messages), so it cannot be deleted."
    )
