"""ETag on every response of one versioned record, and If-None-Match answered with 304."""

from httpx import AsyncClient

from tests.factories import (
    Workspace,
    make_contact,
    make_deal,
    make_interaction,
    make_task,
    make_ticket,
)


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


async def _unchanged(client: AsyncClient, workspace: Workspace, path: str, tag: str) -> int:
    read = await client.get(path, headers={**workspace.headers, "If-None-Match": tag})
    return read.status_code


async def test_a_deal_whose_contact_is_deleted_is_a_new_version_with_its_event(
    client: AsyncClient, workspace: Workspace
) -> None:
    leaving, staying = await make_contact(client, workspace), await make_contact(client, workspace)
    deal = await make_deal(
        client,
        workspace,
        contacts=[{"contact_id": leaving["id"], "role": "champion"}, {"contact_id": staying["id"]}],
    )
    path = f"/v1/deals/{deal['id']}"
    tag = (await client.get(path, headers=workspace.headers)).headers["ETag"]
    contact_path = f"/v1/contacts/{leaving['id']}"
    archived = await client.post(f"{contact_path}/archive", headers=workspace.headers)
    deleted = await client.delete(
        contact_path, headers={**workspace.headers, "If-Match": archived.headers["ETag"]}
    )
    assert deleted.status_code == 204, deleted.text
    assert await _unchanged(client, workspace, path, tag) == 200
    read = await client.get(path, headers=workspace.headers)
    assert [link["contact_id"] for link in read.json()["contacts"]] == [staying["id"]]
    events = await client.get(
        "/v1/events", params={"type": "deal.updated"}, headers=workspace.headers
    )
    (event,) = [e for e in events.json()["data"] if e["resource_id"] == deal["id"]]
    assert [link["contact_id"] for link in event["data"]["contacts"]] == [staying["id"]]


async def test_records_a_merge_moves_are_new_versions(
    client: AsyncClient, workspace: Workspace
) -> None:
    """A merge re-points the source's deals, tickets and tasks to the target: what each read
    shows changed, so its ETag does too."""
    target, source = await make_contact(client, workspace), await make_contact(client, workspace)
    deal = await make_deal(client, workspace, contacts=[{"contact_id": source["id"]}])
    ticket = await make_ticket(client, workspace, requester_id=source["id"])
    task = await make_task(client, workspace, contact_id=source["id"])
    paths = [f"/v1/deals/{deal['id']}", f"/v1/tickets/{ticket['id']}", f"/v1/tasks/{task['id']}"]
    tags = [(await client.get(path, headers=workspace.headers)).headers["ETag"] for path in paths]
    merged = await client.post(
        f"/v1/contacts/{target['id']}/merge",
        json={"source_id": source["id"]},
        headers=workspace.headers,
    )
    assert merged.status_code == 200, merged.text
    for path, tag in zip(paths, tags, strict=True):
        assert await _unchanged(client, workspace, path, tag) == 200, path
    deal_read = await client.get(paths[0], headers=workspace.headers)
    assert [link["contact_id"] for link in deal_read.json()["contacts"]] == [target["id"]]
    assert (await client.get(paths[1], headers=workspace.headers)).json()["requester_id"] == (
        target["id"]
    )
