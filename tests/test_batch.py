"""Batch writes for contacts, companies and deals: a result per item with the status it would
have had alone, bad items never sinking good ones, and nothing of a failed item written."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import Workspace, make_company, make_contact, make_deal, make_pipeline
from tests.problems import assert_problem


async def _batch(
    client: AsyncClient, workspace: Workspace, resource: str, operation: str, items: list[Any]
) -> Any:
    response = await client.post(
        f"/v1/{resource}/batch",
        json={"operation": operation, "items": items},
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_one_bad_contact_never_sinks_the_others(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    taken = await make_contact(client, workspace, email="taken@example.com")
    answer = await _batch(
        client,
        workspace,
        "contacts",
        "create",
        [
            {"email": "new@example.com", "first_name": "New"},
            {"email": "not an email"},
            {"email": "TAKEN@example.com"},
            {"first_name": "Solo", "owner_id": "01a20000-0000-7000-8000-000000000000"},
            {"email": "second@example.com", "lifecycle_stage": "customer"},
        ],
    )
    assert (answer["succeeded"], answer["failed"]) == (2, 3)
    assert [r["status"] for r in answer["results"]] == [201, 422, 409, 422, 201]
    assert answer["results"][1]["problem"]["errors"][0]["loc"] == ["body", "items", 1, "email"]
    assert answer["results"][2]["problem"]["existing_id"] == taken["id"]
    assert answer["results"][0]["resource"]["first_name"] == "New"
    created = [answer["results"][i]["id"] for i in (0, 4)]
    emails = await connection.execute(
        text("SELECT email FROM contacts WHERE workspace_id = :ws ORDER BY email"),
        {"ws": workspace.id},
    )
    assert [row[0] for row in emails] == [
        "new@example.com",
        "second@example.com",
        "taken@example.com",
    ]
    events = await connection.execute(
        text(
            "SELECT resource_id::text FROM events"
            " WHERE workspace_id = :ws AND type = 'contact.created'"
        ),
        {"ws": workspace.id},
    )
    assert sorted(row[0] for row in events) == sorted([*created, taken["id"]])


async def test_updates_check_versions_and_tenancy_per_item(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    mine = await make_contact(client, workspace, email="mine@example.com")
    theirs = await make_contact(client, other_workspace, email="theirs@example.com")
    answer = await _batch(
        client,
        workspace,
        "contacts",
        "update",
        [
            {"id": mine["id"], "version": 1, "data": {"first_name": "Renamed"}},
            {"id": mine["id"], "version": 1, "data": {"first_name": "Stale"}},
            {"id": theirs["id"], "data": {"first_name": "Hijacked"}},
            {"id": mine["id"], "data": {"lifecycle_stage": "wizard"}},
            {"id": mine["id"], "data": {"last_name": "Lovelace"}},
        ],
    )
    assert [r["status"] for r in answer["results"]] == [200, 412, 404, 422, 200]
    assert answer["results"][3]["problem"]["errors"][0]["loc"][:5] == [
        "body",
        "items",
        3,
        "data",
        "lifecycle_stage",
    ]
    final = answer["results"][4]["resource"]
    assert (final["first_name"], final["last_name"], final["version"]) == ("Renamed", "Lovelace", 3)
    untouched = await client.get(f"/v1/contacts/{theirs['id']}", headers=other_workspace.headers)
    assert untouched.json()["first_name"] == "Grace"


async def test_upserts_match_on_the_natural_key(client: AsyncClient, workspace: Workspace) -> None:
    existing = await make_contact(client, workspace, email="ada@example.com", job_title="Analyst")
    answer = await _batch(
        client,
        workspace,
        "contacts",
        "upsert",
        [
            {"email": "ADA@example.com", "job_title": "Engineer"},
            {"email": "grace@example.com", "first_name": "Grace"},
            {"first_name": "No key"},
        ],
    )
    assert [r["status"] for r in answer["results"]] == [200, 201, 422]
    assert answer["results"][0]["id"] == existing["id"]
    assert answer["results"][0]["resource"]["job_title"] == "Engineer"

    company = await make_company(client, workspace, domain="acme.example", name="Acme")
    companies = await _batch(
        client,
        workspace,
        "companies",
        "upsert",
        [
            {"domain": "https://www.ACME.example/about", "name": "Acme Ltd"},
            {"domain": "globex.example", "name": "Globex"},
            {"name": "No domain"},
        ],
    )
    assert [r["status"] for r in companies["results"]] == [200, 201, 422]
    assert companies["results"][0]["id"] == company["id"]
    assert companies["results"][0]["resource"]["name"] == "Acme Ltd"


async def test_deals_create_and_update_but_have_no_upsert(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"])
    created = await _batch(
        client,
        workspace,
        "deals",
        "create",
        [
            {"name": "Big one", "pipeline_id": pipeline["id"]},
            {"name": "Nowhere", "pipeline_id": "01a20000-0000-7000-8000-000000000000"},
        ],
    )
    assert [r["status"] for r in created["results"]] == [201, 422]
    updated = await _batch(
        client,
        workspace,
        "deals",
        "update",
        [{"id": deal["id"], "data": {"name": "Renamed deal"}}],
    )
    assert updated["results"][0]["resource"]["name"] == "Renamed deal"
    refused = await client.post(
        "/v1/deals/batch",
        json={"operation": "upsert", "items": [{"name": "x"}]},
        headers=workspace.headers,
    )
    assert_problem(refused, 422, field="operation")


async def test_batch_sizes_are_bounded(client: AsyncClient, workspace: Workspace) -> None:
    for items in ([], [{"first_name": f"n{i}"} for i in range(101)]):
        response = await client.post(
            "/v1/contacts/batch",
            json={"operation": "create", "items": items},
            headers=workspace.headers,
        )
        assert_problem(response, 422, field="items")
    full = await _batch(
        client, workspace, "contacts", "create", [{"first_name": f"n{i}"} for i in range(100)]
    )
    assert full["succeeded"] == 100
