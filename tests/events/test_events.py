"""Events: written in the transaction of the change, listed oldest first with a cursor."""

import asyncio
import time

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select

from crm_api.models import Event
from tests.factories import Workspace, make_company, make_contact, new_workspace
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
    while page["has_more"]:
        page = (
            await client.get(
                f"/v1/events?limit=3&cursor={page['next_cursor']}", headers=workspace.headers
            )
        ).json()
        types += [event["type"] for event in page["data"]]
    # The last page, too, says where to resume; nothing is there yet.
    resumed = await client.get(
        f"/v1/events?cursor={page['next_cursor']}", headers=workspace.headers
    )
    assert resumed.json() == {"data": [], "next_cursor": page["next_cursor"], "has_more": False}
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


async def test_a_poller_sees_every_event_once_while_writers_commit_out_of_order(
    committing_app: FastAPI, committing_client: AsyncClient
) -> None:
    """Writers whose transactions overlap and commit in any order; a poller follows cursors
    meanwhile. It sees every event exactly once, in position order."""
    workspace = await new_workspace(committing_app, "Busy events")
    writing = True
    polls_while_writing = 0

    async def writer(number: int) -> None:
        for round_ in range(5):
            items = [{"email": f"w{number}-{round_}-{n}@example.com"} for n in range(20)]
            response = await committing_client.post(
                "/v1/contacts/batch",
                json={"operation": "create", "items": items},
                headers=workspace.headers,
            )
            assert response.json()["succeeded"] == 20, response.text

    seen: list[str] = []
    cursor = ""

    async def poll() -> bool:
        nonlocal cursor
        response = await committing_client.get(
            f"/v1/events?limit=100&cursor={cursor}", headers=workspace.headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        seen.extend(event["id"] for event in page["data"])
        cursor = page["next_cursor"] or ""
        return bool(page["has_more"])

    async def poller() -> None:
        nonlocal polls_while_writing
        while writing:
            await poll()
            polls_while_writing += 1
            await asyncio.sleep(0)

    polling = asyncio.create_task(poller())
    await asyncio.gather(*(writer(number) for number in range(6)))
    writing = False
    await polling
    # Every writer has committed; their events are served once no older transaction of the
    # server's (another test's, say) is still running.
    deadline = time.monotonic() + 60
    while len(seen) < 600 and time.monotonic() < deadline:
        if not await poll():
            await asyncio.sleep(0.05)

    async with committing_app.state.sessionmaker() as session:
        stored = (
            await session.execute(
                select(Event.id)
                .where(Event.workspace_id == workspace.id)
                .order_by(Event.tx_id, Event.position)
            )
        ).scalars()
        in_position_order = [str(event_id) for event_id in stored]
    assert polls_while_writing > 1, "the poller never read while the writers wrote"
    assert len(in_position_order) == 600
    assert len(seen) == len(set(seen)), "an event was served twice"
    assert seen == in_position_order
