"""Contacts: create, read, update, archive, restore, purge, upsert, lifecycle history, events."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.models import Event
from tests.factories import Workspace, make_company, make_contact, make_member
from tests.problems import assert_problem


async def _events(connection: AsyncConnection, workspace: Workspace) -> list[Any]:
    rows = await connection.execute(
        select(Event.type, Event.resource_id, Event.data, Event.previous)
        .where(Event.workspace_id == workspace.id, Event.resource_type == "contact")
        .order_by(Event.id)
    )
    return list(rows)


async def test_create_returns_201_location_etag_and_the_contact(
    client: AsyncClient, workspace: Workspace
) -> None:
    company = await make_company(client, workspace)
    owner = await make_member(client, workspace)
    body = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@example.com",
        "additional_emails": ["g.hopper@example.org"],
        "phones": [{"label": "work", "number": "+1 202 555 0143"}],
        "job_title": "Rear Admiral",
        "lifecycle_stage": "sales_qualified",
        "lead_source": "conference",
        "owner_id": owner["id"],
        "company_id": company["id"],
        "address": {"city": "Arlington", "country": "US"},
        "tags": ["navy", "cobol"],
    }
    response = await client.post("/v1/contacts", json=body, headers=workspace.headers)
    assert response.status_code == 201
    contact = response.json()
    assert response.headers["location"] == f"/v1/contacts/{contact['id']}"
    assert response.headers["etag"] == '"1"'
    for field, value in body.items():
        if field != "address":
            assert contact[field] == value, field
    assert contact["address"]["city"] == "Arlington"
    assert contact["version"] == 1
    assert contact["archived_at"] is None
    assert contact["created_at"].endswith("Z") or "+00:00" in contact["created_at"]
    fetched = await client.get(response.headers["location"], headers=workspace.headers)
    assert fetched.json() == contact
    assert fetched.headers["etag"] == '"1"'


async def test_a_contact_needs_an_email_or_a_name(
    client: AsyncClient, workspace: Workspace
) -> None:
    response = await client.post("/v1/contacts", json={"job_title": "x"}, headers=workspace.headers)
    assert_problem(response, 422)


async def test_references_must_exist_in_the_workspace(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    foreign_company = await make_company(client, other_workspace)
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "A", "company_id": foreign_company["id"]},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="company_id")
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "A", "owner_id": "01a20000-0000-7000-8000-000000000000"},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="owner_id")


async def test_patch_changes_only_what_is_sent_and_emits_previous_values(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    contact = await make_contact(
        client, workspace, email="p@example.com", address={"city": "Paris", "country": "FR"}
    )
    url = f"/v1/contacts/{contact['id']}"
    response = await client.patch(
        url,
        json={"job_title": "CFO", "address": {"city": "Lyon"}, "lead_source": None},
        headers={**workspace.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    updated = response.json()
    assert updated["job_title"] == "CFO"
    assert updated["address"]["city"] == "Lyon"
    assert updated["address"]["country"] == "FR"  # merged, not replaced
    assert updated["first_name"] == contact["first_name"]
    assert updated["version"] == 2
    assert updated["updated_at"] > contact["updated_at"]
    assert response.headers["etag"] == '"2"'
    events = await _events(connection, workspace)
    assert [event.type for event in events] == ["contact.created", "contact.updated"]
    assert events[1].previous["job_title"] is None
    assert events[1].previous["address"]["city"] == "Paris"
    assert events[1].data["job_title"] == "CFO"


async def test_patch_refuses_null_for_required_fields(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}", json={"tags": None}, headers=workspace.headers
    )
    assert_problem(response, 422, field="tags")


async def test_changing_email_to_one_in_use_is_409(
    client: AsyncClient, workspace: Workspace
) -> None:
    taken = await make_contact(client, workspace, email="taken@example.com")
    other = await make_contact(client, workspace, email="free@example.com")
    response = await client.patch(
        f"/v1/contacts/{other['id']}",
        json={"email": "TAKEN@example.com"},
        headers=workspace.headers,
    )
    assert assert_problem(response, 409, field="email")["existing_id"] == taken["id"]
    unchanged = await client.get(f"/v1/contacts/{other['id']}", headers=workspace.headers)
    assert unchanged.json()["email"] == "free@example.com"


async def test_archive_restore_and_purge(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    contact = await make_contact(client, workspace, email="arch@example.com")
    url = f"/v1/contacts/{contact['id']}"
    assert_problem(await client.delete(url, headers=workspace.headers), 409)

    archived = await client.post(f"{url}/archive", headers=workspace.headers)
    assert archived.status_code == 200
    assert archived.json()["archived_at"] is not None
    listed = await client.get("/v1/contacts", headers=workspace.headers)
    assert listed.json()["data"] == []
    only_archived = await client.get("/v1/contacts?archived=true", headers=workspace.headers)
    assert [c["id"] for c in only_archived.json()["data"]] == [contact["id"]]
    assert_problem(await client.patch(url, json={"job_title": "x"}, headers=workspace.headers), 409)

    restored = await client.post(f"{url}/restore", headers=workspace.headers)
    assert restored.json()["archived_at"] is None
    await client.post(f"{url}/archive", headers=workspace.headers)
    stale = await client.delete(url, headers={**workspace.headers, "If-Match": '"1"'})
    assert_problem(stale, 412)
    purged = await client.delete(url, headers=workspace.headers)
    assert purged.status_code == 204
    assert purged.content == b""
    assert_problem(await client.get(url, headers=workspace.headers), 404)
    types = [event.type for event in await _events(connection, workspace)]
    assert types == [
        "contact.created",
        "contact.archived",
        "contact.restored",
        "contact.archived",
        "contact.deleted",
    ]


async def test_upsert_creates_then_updates_by_email(
    client: AsyncClient, workspace: Workspace
) -> None:
    created = await client.post(
        "/v1/contacts/upsert",
        json={"email": "sync@example.com", "first_name": "Syn"},
        headers=workspace.headers,
    )
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/contacts/{created.json()['id']}"
    updated = await client.post(
        "/v1/contacts/upsert",
        json={"email": "SYNC@example.com", "job_title": "Buyer"},
        headers=workspace.headers,
    )
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["first_name"] == "Syn"
    assert updated.json()["job_title"] == "Buyer"
    assert updated.json()["version"] == 2


async def test_upsert_needs_an_email(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts/upsert", json={"first_name": "NoMail"}, headers=workspace.headers
    )
    assert_problem(response, 422, field="email")


async def test_lifecycle_changes_are_kept_with_actor(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace, lifecycle_stage="subscriber")
    url = f"/v1/contacts/{contact['id']}"
    await client.patch(url, json={"lifecycle_stage": "lead"}, headers=workspace.headers)
    await client.patch(url, json={"job_title": "no stage change"}, headers=workspace.headers)
    await client.patch(url, json={"lifecycle_stage": "customer"}, headers=workspace.headers)
    response = await client.get(f"{url}/lifecycle-history", headers=workspace.headers)
    history = response.json()["data"]
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [
        (None, "subscriber"),
        ("subscriber", "lead"),
        ("lead", "customer"),
    ]
    assert {h["actor_type"] for h in history} == {"api_key"}
    first_page = await client.get(f"{url}/lifecycle-history?limit=2", headers=workspace.headers)
    cursor = first_page.json()["next_cursor"]
    rest = await client.get(
        f"{url}/lifecycle-history?limit=2&cursor={cursor}", headers=workspace.headers
    )
    paged = first_page.json()["data"] + rest.json()["data"]
    assert [h["id"] for h in paged] == [h["id"] for h in history]
    assert rest.json()["next_cursor"] is None
    assert all(h["actor_id"] for h in history)


async def test_patched_nested_items_get_their_defaults(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"phones": [{"number": "+1 555 0100"}]},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["phones"] == [{"label": "mobile", "number": "+1 555 0100"}]
