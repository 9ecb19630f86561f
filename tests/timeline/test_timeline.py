"""The 360-degree timeline: one newest-first stream from one SQL query, at any length."""

import uuid
from collections.abc import Iterator
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.timeline.repository import timeline_statement
from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_deal,
    make_interaction,
    make_pipeline,
    make_task,
    make_ticket,
)
from tests.problems import assert_problem


async def _all_pages(client: AsyncClient, workspace: Workspace, url: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = (await client.get(f"{url}?limit=2{cursor}", headers=workspace.headers)).json()
        entries += page["data"]
        if page["next_cursor"] is None:
            return entries
        cursor = f"&cursor={page['next_cursor']}"


async def test_a_contact_timeline_merges_every_kind_newest_first(
    client: AsyncClient, workspace: Workspace
) -> None:
    company = await make_company(client, workspace)
    contact = await make_contact(
        client, workspace, lifecycle_stage="lead", company_id=company["id"]
    )
    url = f"/v1/contacts/{contact['id']}/timeline"
    await make_interaction(
        client, workspace, contact_id=contact["id"], occurred_at="2020-01-01T00:00:00Z"
    )
    pipeline = await make_pipeline(client, workspace)
    deal = await make_deal(
        client, workspace, pipeline_id=pipeline["id"], contacts=[{"contact_id": contact["id"]}]
    )
    await client.patch(
        f"/v1/deals/{deal['id']}",
        json={"stage_id": pipeline["stages"][2]["id"]},
        headers=workspace.headers,
    )  # won: the contact becomes a customer
    await make_task(client, workspace, contact_id=contact["id"])

    entries = await _all_pages(client, workspace, url)
    kinds = [entry["kind"] for entry in entries]
    assert sorted(kinds) == sorted(
        [
            "interaction",
            "deal_stage_change",
            "deal_stage_change",
            "lifecycle_change",
            "lifecycle_change",
            "task",
        ]
    )
    assert kinds[-1] == "interaction"  # the oldest, from 2020
    times = [entry["occurred_at"] for entry in entries]
    assert times == sorted(times, reverse=True)
    assert len({entry["id"] for entry in entries}) == len(entries)
    won = [
        e
        for e in entries
        if e["kind"] == "lifecycle_change" and e["data"]["to_stage"] == "customer"
    ]
    assert len(won) == 1

    only_tasks = await client.get(f"{url}?kind=task", headers=workspace.headers)
    assert [e["kind"] for e in only_tasks.json()["data"]] == ["task"]
    old = await client.get(f"{url}?occurred_at_lte=2021-01-01T00:00:00Z", headers=workspace.headers)
    assert [e["kind"] for e in old.json()["data"]] == ["interaction"]

    company_entries = await _all_pages(client, workspace, f"/v1/companies/{company['id']}/timeline")
    # The company's view has its person's activity too (the deal is not filed under it).
    assert {e["kind"] for e in company_entries} == {"interaction", "task", "lifecycle_change"}


async def test_unknown_customer_and_bad_parameters(
    client: AsyncClient, workspace: Workspace
) -> None:
    absent = "01a20000-0000-7000-8000-000000000000"
    assert_problem(
        await client.get(f"/v1/contacts/{absent}/timeline", headers=workspace.headers), 404
    )
    contact = await make_contact(client, workspace)
    url = f"/v1/contacts/{contact['id']}/timeline"
    assert_problem(
        await client.get(f"{url}?kind=tweet", headers=workspace.headers), 422, field="kind"
    )
    assert_problem(
        await client.get(f"{url}?cursor=zzz", headers=workspace.headers), 422, field="cursor"
    )


async def test_a_long_timeline_is_read_through_indexes(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    contact = await make_contact(client, workspace)
    await connection.execute(
        text(
            "INSERT INTO interactions (workspace_id, id, kind, direction, occurred_at, contact_id, "
            "created_at, updated_at, version) "
            "SELECT :workspace, gen_random_uuid(), 'note', 'outbound', "
            "now() - make_interval(secs => n), :contact, now(), now(), 1 "
            "FROM generate_series(1, 20000) AS n"
        ),
        {"workspace": workspace.id, "contact": uuid.UUID(contact["id"])},
    )
    await connection.execute(text("ANALYZE interactions"))
    page = await client.get(
        f"/v1/contacts/{contact['id']}/timeline?limit=50", headers=workspace.headers
    )
    assert len(page.json()["data"]) == 50
    statement = timeline_statement(workspace.id, contact_id=uuid.UUID(contact["id"]), limit=51)
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    explained = await connection.scalar(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
    scans = list(_nodes_reading(explained[0]["Plan"], "interactions"))
    # Index scans that stop after one page, whatever the timeline's length.
    assert scans, explained
    assert all(node["Node Type"] != "Seq Scan" for node in scans), explained
    assert all(node["Actual Rows"] <= 51 for node in scans), explained


def _nodes_reading(node: dict[str, Any], table: str) -> Iterator[dict[str, Any]]:
    if node.get("Relation Name") == table:
        yield node
    for child in node.get("Plans", []):
        yield from _nodes_reading(child, table)


async def test_a_company_timeline_shows_its_peoples_activity(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Interactions, tasks and tickets of the company's contacts, filed without the company,
    are part of its 360° view; another company's people's are not."""
    company = await make_company(client, workspace, domain="people.example")
    person = await make_contact(client, workspace, email="p@people.example")
    stranger = await make_contact(client, workspace, email="s@elsewhere.example")
    mine = [
        await make_interaction(client, workspace, contact_id=person["id"]),
        await make_task(client, workspace, contact_id=person["id"]),
    ]
    ticket = await make_ticket(client, workspace, requester_id=person["id"])
    await make_interaction(client, workspace, contact_id=stranger["id"])
    joined = await client.patch(
        f"/v1/contacts/{person['id']}",
        json={"company_id": company["id"]},
        headers=workspace.headers,
    )
    assert joined.status_code == 200, joined.text
    page = await client.get(
        f"/v1/companies/{company['id']}/timeline?limit=100", headers=workspace.headers
    )
    assert page.status_code == 200, page.text
    entries = page.json()["data"]
    ids = {entry["id"] for entry in entries}
    assert {entry["id"] for entry in mine} <= ids
    assert any(entry["data"].get("ticket_id") == ticket["id"] for entry in entries), entries
    kinds = {entry["kind"] for entry in entries}
    assert {"interaction", "task", "ticket_status_change"} <= kinds
    assert all(entry["data"].get("contact_id") != stranger["id"] for entry in entries)
