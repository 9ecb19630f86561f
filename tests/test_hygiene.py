"""Duplicate candidates (email, E.164 phone, similar names at one company; similar company
names, related domains) and merging one contact into another."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_interaction,
    make_order,
    make_pipeline,
    make_ticket,
)
from tests.problems import assert_problem


async def _pairs(client: AsyncClient, workspace: Workspace, kind: str) -> dict[frozenset[str], Any]:
    """Every pair, walking the pages one at a time."""
    found: dict[frozenset[str], Any] = {}
    cursor = ""
    while True:
        response = await client.get(
            f"/v1/{kind}/duplicates?limit=1&cursor={cursor}", headers=workspace.headers
        )
        assert response.status_code == 200, response.text
        for pair in response.json()["data"]:
            found[frozenset((pair["first_id"], pair["second_id"]))] = pair
        cursor = response.json()["next_cursor"]
        if not cursor:
            return found


async def test_contact_duplicates(client: AsyncClient, workspace: Workspace) -> None:
    company = await make_company(client, workspace, domain="dupes.example")
    a = await make_contact(
        client,
        workspace,
        email="ada@example.com",
        phones=[{"number": "+44 20 7946 0958"}],
    )
    b = await make_contact(
        client, workspace, email="b@example.com", additional_emails=["ADA@example.com"]
    )
    c = await make_contact(
        client, workspace, email="c@example.com", phones=[{"number": "+44 (0)20-7946-0958"}]
    )
    d = await make_contact(
        client, workspace, first_name="Jonathan", last_name="Smith", company_id=company["id"]
    )
    e = await make_contact(
        client, workspace, first_name="Jonathon", last_name="Smith", company_id=company["id"]
    )
    await make_contact(
        client, workspace, first_name="Alice", last_name="Jones", company_id=company["id"]
    )
    await make_contact(client, workspace, first_name="Jonathan", last_name="Smith")  # elsewhere
    pairs = await _pairs(client, workspace, "contacts")
    assert {key: pair["reasons"] for key, pair in pairs.items()} == {
        frozenset((a["id"], b["id"])): ["email"],
        frozenset((a["id"], c["id"])): ["phone"],
        frozenset((d["id"], e["id"])): ["similar_name_same_company"],
    }
    assert pairs[frozenset((d["id"], e["id"]))]["name_similarity"] >= 0.6
    assert_problem(
        await client.get("/v1/contacts/duplicates?cursor=%%%", headers=workspace.headers),
        422,
        field="cursor",
    )


async def test_company_duplicates(client: AsyncClient, workspace: Workspace) -> None:
    first = await make_company(
        client, workspace, name="Initech Corporation", domain="initech.example"
    )
    second = await make_company(
        client, workspace, name="Initech Corporation Ltd", domain="initech-ltd.example"
    )
    shop = await make_company(
        client, workspace, name="Totally different", domain="shop.initech.example"
    )
    await make_company(client, workspace, name="Umbrella", domain="umbrella.example")
    pairs = await _pairs(client, workspace, "companies")
    assert {key: pair["reasons"] for key, pair in pairs.items()} == {
        frozenset((first["id"], second["id"])): ["similar_name"],
        frozenset((first["id"], shop["id"])): ["same_domain"],
    }


async def _merge(client: AsyncClient, workspace: Workspace, target: str, body: Any) -> Any:
    return await client.post(f"/v1/contacts/{target}/merge", json=body, headers=workspace.headers)


async def test_merge_moves_everything_and_keeps_the_chosen_values(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    target = await make_contact(client, workspace, email="keep@example.com", first_name="Keep")
    source = await make_contact(
        client,
        workspace,
        email="gone@example.com",
        first_name="Gone",
        job_title="CTO",
        phones=[{"number": "+1 415 555 0100"}],
    )
    for contact in (target, source):
        await make_interaction(client, workspace, contact_id=contact["id"])
    await make_ticket(client, workspace, requester_id=source["id"])
    await make_order(client, workspace, contact_id=source["id"])
    consent = await client.post(
        f"/v1/contacts/{source['id']}/consents",
        json={"purpose": "marketing_sms", "granted": True},
        headers=workspace.headers,
    )
    assert consent.status_code == 201
    pipeline = await make_pipeline(client, workspace)
    deal = await client.post(
        "/v1/deals",
        json={
            "name": "Shared",
            "pipeline_id": pipeline["id"],
            "contacts": [{"contact_id": target["id"]}, {"contact_id": source["id"]}],
        },
        headers=workspace.headers,
    )
    assert deal.status_code == 201, deal.text

    merged = await _merge(
        client,
        workspace,
        target["id"],
        {"source_id": source["id"], "take_from_source": ["email"]},
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    contact = body["contact"]
    assert (contact["email"], contact["first_name"], contact["job_title"]) == (
        "gone@example.com",
        "Keep",
        "CTO",
    )
    assert contact["phones"] == [{"label": "mobile", "number": "+1 415 555 0100"}]
    assert body["moved"]["interactions"] == 1
    assert body["moved"]["tickets"] == 1
    assert body["moved"]["orders"] == 1
    assert body["moved"]["consents"] == 1
    assert_problem(await client.get(f"/v1/contacts/{source['id']}", headers=workspace.headers), 404)
    interactions = await client.get(
        f"/v1/interactions?contact_id={target['id']}", headers=workspace.headers
    )
    assert len(interactions.json()["data"]) == 2
    links = (await client.get(f"/v1/deals/{deal.json()['id']}", headers=workspace.headers)).json()
    assert [link["contact_id"] for link in links["contacts"]] == [target["id"]]
    recorded = await connection.scalar(
        text("SELECT source->>'email' FROM contact_merges WHERE target_id = :t"),
        {"t": target["id"]},
    )
    assert recorded == "gone@example.com"
    types = await connection.execute(
        text(
            "SELECT type FROM events WHERE resource_id IN (:t, :s)"
            " AND type IN ('contact.merged', 'contact.deleted') ORDER BY type"
        ),
        {"t": target["id"], "s": source["id"]},
    )
    assert [row[0] for row in types] == ["contact.deleted", "contact.merged"]
    # The target's own primary email, replaced by the source's, is kept as an additional one.
    assert contact["additional_emails"] == ["keep@example.com"]

    # Refusals: itself, another workspace's contact, an archived target.
    assert_problem(
        await _merge(client, workspace, target["id"], {"source_id": target["id"]}),
        422,
        field="source_id",
    )
    foreign = await make_contact(client, other_workspace)
    for absent in (foreign["id"], str(uuid.uuid4())):  # another workspace's is no contact here
        assert_problem(
            await _merge(client, workspace, target["id"], {"source_id": absent}),
            422,
            field="source_id",
        )
    assert_problem(
        await _merge(client, workspace, str(uuid.uuid4()), {"source_id": target["id"]}), 404
    )
    spare = await make_contact(client, workspace)
    archived = await client.post(f"/v1/contacts/{target['id']}/archive", headers=workspace.headers)
    assert archived.status_code == 200
    assert_problem(await _merge(client, workspace, target["id"], {"source_id": spare["id"]}), 409)


async def test_merge_keeps_every_email_and_tag_and_records_changes_as_a_patch_does(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    target = await make_contact(
        client, workspace, email="t@example.com", tags=["vip", "emea"], lifecycle_stage="lead"
    )
    source = await make_contact(
        client,
        workspace,
        email="s@example.com",
        additional_emails=["s.other@example.com", "T@example.com"],
        tags=["emea", "partner"],
        lifecycle_stage="customer",
    )
    merged = await _merge(
        client,
        workspace,
        target["id"],
        {"source_id": source["id"], "take_from_source": ["lifecycle_stage"]},
    )
    assert merged.status_code == 200, merged.text
    contact = merged.json()["contact"]
    assert contact["email"] == "t@example.com"
    assert contact["additional_emails"] == ["s@example.com", "s.other@example.com"]
    assert contact["tags"] == ["vip", "emea", "partner"]
    assert contact["lifecycle_stage"] == "customer"
    history = await client.get(
        f"/v1/contacts/{target['id']}/lifecycle-history", headers=workspace.headers
    )
    stages = [(h["from_stage"], h["to_stage"]) for h in history.json()["data"]]
    assert ("lead", "customer") in stages, stages
    updated = await connection.execute(
        text("SELECT previous FROM events WHERE resource_id = :t AND type = 'contact.updated'"),
        {"t": target["id"]},
    )
    [previous] = [row[0] for row in updated]
    assert previous["lifecycle_stage"] == "lead"
    assert previous["tags"] == ["vip", "emea"]
    audited = await connection.scalar(
        text("SELECT changes FROM audit_log WHERE record_id = :t AND action = 'contact.updated'"),
        {"t": target["id"]},
    )
    assert audited["lifecycle_stage"] == {"old": "lead", "new": "customer"}
