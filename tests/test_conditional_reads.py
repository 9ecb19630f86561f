"""ETag on every response of one versioned record, and If-None-Match answered with 304."""

from httpx import AsyncClient

from tests.factories import Workspace, make_contact, make_interaction, make_task, make_ticket


async def test_a_read_that_names_the_current_etag_is_not_modified(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    path = f"/v1/contacts/{contact['id']}"
    first = await client.get(path, headers=workspace.headers)
    tag = first.headers["ETag"]
    for named in (tag, f"W/{tag}", f'"999", {tag}', "*"):
        again = await client.get(path, headers={**workspace.headers, "If-None-Match": named})
        assert again.status_code == 304, named
        assert again.content == b""
        assert again.headers["ETag"] == tag
    stale = await client.get(path, headers={**workspace.headers, "If-None-Match": '"999"'})
    assert stale.status_code == 200
    assert stale.json()["id"] == contact["id"]
    changed = await client.patch(
        path, json={"job_title": "Admiral"}, headers={**workspace.headers, "If-Match": tag}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    after = await client.get(path, headers={**workspace.headers, "If-None-Match": tag})
    assert after.status_code == 200
    assert after.json()["job_title"] == "Admiral"


async def test_every_read_of_one_versioned_record_carries_its_etag(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Through the route class, whatever the operation set itself."""
    contact = await make_contact(client, workspace)
    ticket = await make_ticket(client, workspace, requester_id=contact["id"])
    task = await make_task(client, workspace)
    for path, record in (
        (f"/v1/tickets/{ticket['id']}", ticket),
        (f"/v1/tasks/{task['id']}", task),
    ):
        read = await client.get(path, headers=workspace.headers)
        assert read.headers["ETag"] == f'"{record["version"]}"', path
        unchanged = await client.get(
            path, headers={**workspace.headers, "If-None-Match": read.headers["ETag"]}
        )
        assert unchanged.status_code == 304, path
    archived = await client.post(f"/v1/tickets/{ticket['id']}/archive", headers=workspace.headers)
    assert archived.status_code == 200
    assert archived.headers["ETag"] == f'"{archived.json()["version"]}"'


async def test_another_workspaces_record_is_a_404_whatever_if_none_match_says(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    read = await client.get(
        f"/v1/contacts/{contact['id']}", headers={**other_workspace.headers, "If-None-Match": "*"}
    )
    assert read.status_code == 404


async def test_a_derived_change_is_a_new_version_so_no_stale_304(
    client: AsyncClient, workspace: Workspace
) -> None:
    """A contact's lead score moves with its activity; its ETag moves with it."""
    rule = await client.post(
        "/v1/lead-scoring-rules",
        json={"kind": "interaction", "name": "calls", "points": 10, "interaction_kind": "call"},
        headers=workspace.headers,
    )
    assert rule.status_code == 201, rule.text
    contact = await make_contact(client, workspace)
    path = f"/v1/contacts/{contact['id']}"
    before = await client.get(path, headers=workspace.headers)
    assert before.json()["lead_score"] == 0
    await make_interaction(client, workspace, contact_id=contact["id"], kind="call")
    after = await client.get(
        path, headers={**workspace.headers, "If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200
    assert after.json()["lead_score"] == 10
    assert after.headers["ETag"] != before.headers["ETag"]
