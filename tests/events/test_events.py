"""Events: written in the transaction of the change, listed oldest first with a cursor."""

from httpx import AsyncClient

from tests.factories import Workspace, make_company, make_contact
from tests.problems import assert_problem


async def test_changes_emit_events_readable_in_order(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace, email="ev@example.com")
    await client.patch(
        f"/v1/contacts/{contact['id']}", json={"job_title": "VP"}, headers=workspace.headers
    )
    company = await make_company(client, workspace)
    await client.patch(
        f"/v1/companies/{company['id']}", json={"industry": "x"}, headers=workspace.headers
    )
    await client.post(f"/v1/companies/{company['id']}/archive", headers=workspace.headers)
    await client.post(f"/v1/companies/{company['id']}/restore", headers=workspace.headers)

    response = await client.get("/v1/events?limit=3", headers=workspace.headers)
    page = response.json()
    types = [event["type"] for event in page["data"]]
    cursor = page["next_cursor"]
    while cursor:
        page = (
            await client.get(f"/v1/events?limit=3&cursor={cursor}", headers=workspace.headers)
        ).json()
        types += [event["type"] for event in page["data"]]
        cursor = page["next_cursor"]
    assert types == [
        "contact.created",
        "contact.updated",
        "company.created",
        "company.updated",
        "company.archived",
        "company.restored",
    ]
    updated = (
        await client.get("/v1/events?type=contact.updated", headers=workspace.headers)
    ).json()["data"][0]
    assert updated["resource_id"] == contact["id"]
    assert updated["data"]["job_title"] == "VP"
    assert updated["previous"]["job_title"] is None
    single = await client.get(f"/v1/events/{updated['id']}", headers=workspace.headers)
    assert single.json() == updated
    by_resource = await client.get(
        f"/v1/events?resource_id={company['id']}", headers=workspace.headers
    )
    assert len(by_resource.json()["data"]) == 4
    newest = await client.get("/v1/events?sort=-occurred_at&limit=1", headers=workspace.headers)
    assert newest.json()["data"][0]["type"] == "company.restored"


async def test_a_rejected_change_emits_no_event(client: AsyncClient, workspace: Workspace) -> None:
    await make_contact(client, workspace, email="once@example.com")
    assert_problem(
        await client.post(
            "/v1/contacts", json={"email": "once@example.com"}, headers=workspace.headers
        ),
        409,
    )
    events = await client.get("/v1/events?type=contact.created", headers=workspace.headers)
    assert len(events.json()["data"]) == 1
