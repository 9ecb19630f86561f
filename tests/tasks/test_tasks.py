"""Follow-up tasks: assignment, completion, overdue lists per assignee."""

from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_member, make_task
from tests.problems import assert_problem


async def test_overdue_tasks_per_assignee(client: AsyncClient, workspace: Workspace) -> None:
    ada, bob = await make_member(client, workspace), await make_member(client, workspace)
    late = await make_task(client, workspace, assignee_id=ada["id"], due_at="2020-01-01T00:00:00Z")
    await make_task(client, workspace, assignee_id=ada["id"], due_at="2999-01-01T00:00:00Z")
    await make_task(client, workspace, assignee_id=bob["id"], due_at="2020-01-01T00:00:00Z")
    overdue = await client.get(
        f"/v1/tasks?overdue=true&assignee_id={ada['id']}", headers=workspace.headers
    )
    assert [t["id"] for t in overdue.json()["data"]] == [late["id"]]
    done = await client.patch(
        f"/v1/tasks/{late['id']}", json={"status": "done"}, headers=workspace.headers
    )
    assert done.json()["completed_at"] is not None
    again = await client.get(
        f"/v1/tasks?overdue=true&assignee_id={ada['id']}", headers=workspace.headers
    )
    assert again.json()["data"] == []
    reopened = await client.patch(
        f"/v1/tasks/{late['id']}", json={"status": "open"}, headers=workspace.headers
    )
    assert reopened.json()["completed_at"] is None
    events = await client.get(f"/v1/events?resource_id={late['id']}", headers=workspace.headers)
    assert [e["type"] for e in events.json()["data"]] == [
        "task.created",
        "task.completed",
        "task.updated",
    ]


async def test_task_validation_and_links(client: AsyncClient, workspace: Workspace) -> None:
    contact = await make_contact(client, workspace)
    task = await make_task(client, workspace, contact_id=contact["id"], priority="high")
    assert task["status"] == "open"
    listed = await client.get(
        f"/v1/tasks?contact_id={contact['id']}&priority=high", headers=workspace.headers
    )
    assert [t["id"] for t in listed.json()["data"]] == [task["id"]]
    for body, field in (
        ({"title": "x", "priority": "asap"}, "priority"),
        ({"title": ""}, "title"),
        ({"title": "x", "assignee_id": "01a20000-0000-7000-8000-000000000000"}, "assignee_id"),
    ):
        assert_problem(
            await client.post("/v1/tasks", json=body, headers=workspace.headers), 422, field=field
        )
    url = f"/v1/tasks/{task['id']}"
    assert_problem(
        await client.patch(url, json={"status": "later"}, headers=workspace.headers),
        422,
        field="status",
    )
    assert_problem(await client.delete(url, headers={**workspace.headers, "If-Match": '"5"'}), 412)
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
