"""Streamed exports: every row the filters select, past the internal page size, as CSV or
JSON Lines; bad filters are the usual problem before anything streams."""

import csv
import io
import json
from typing import Any

import pytest
from httpx import AsyncClient

from crm_api.core import export
from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_deal,
    make_interaction,
    make_order,
    make_pipeline,
    make_task,
    make_ticket,
)
from tests.problems import assert_problem


async def test_contacts_export_streams_every_selected_row(
    client: AsyncClient, workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 40 rows instead of 1,000: the same paging over 250 contacts, not 2,500.
    monkeypatch.setattr(export, "PAGE", 40)
    for batch in range(3):
        items = [
            {
                "email": f"c{batch}-{n}@example.com",
                "lifecycle_stage": "customer" if n % 10 == 0 else "lead",
                "phones": [{"number": f"+44 20 7946 {batch:02d}{n:02d}"}],
            }
            for n in range(100 if batch < 2 else 50)
        ]
        response = await client.post(
            "/v1/contacts/batch",
            json={"operation": "create", "items": items},
            headers=workspace.headers,
        )
        assert response.json()["succeeded"] == len(items)
    exported = await client.get("/v1/contacts/export", headers=workspace.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="contacts.csv"' in exported.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 250
    assert len({row["id"] for row in rows}) == 250
    assert json.loads(rows[0]["phones"])[0]["number"].startswith("+44 20 7946")

    lines = await client.get(
        "/v1/contacts/export?format=jsonl&lifecycle_stage=customer&sort=created_at",
        headers=workspace.headers,
    )
    assert lines.headers["content-type"] == "application/x-ndjson"
    records = [json.loads(line) for line in lines.text.splitlines()]
    assert len(records) == 25
    assert {record["lifecycle_stage"] for record in records} == {"customer"}
    assert [r["created_at"] for r in records] == sorted(r["created_at"] for r in records)

    assert_problem(
        await client.get("/v1/contacts/export?sort=password", headers=workspace.headers),
        422,
        field="sort",
    )
    assert_problem(
        await client.get("/v1/contacts/export?format=xlsx", headers=workspace.headers),
        422,
        field="format",
    )
    empty = await client.get(
        "/v1/contacts/export?email=nobody@example.com", headers=workspace.headers
    )
    assert empty.text.splitlines()[0].startswith("id,first_name,last_name,email")
    assert len(empty.text.splitlines()) == 1


async def test_companies_and_deals_export(client: AsyncClient, workspace: Workspace) -> None:
    await make_company(client, workspace, domain="one.example", industry="software")
    await make_company(client, workspace, domain="two.example", industry="retail")
    software = await client.get(
        "/v1/companies/export?format=jsonl&industry=software", headers=workspace.headers
    )
    assert [json.loads(line)["domain"] for line in software.text.splitlines()] == ["one.example"]
    pipeline = await make_pipeline(client, workspace)
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"], name="Exported")
    deals = await client.get("/v1/deals/export", headers=workspace.headers)
    rows = list(csv.DictReader(io.StringIO(deals.text)))
    assert [(row["id"], row["name"]) for row in rows] == [(deal["id"], "Exported")]


@pytest.mark.parametrize(
    ("path", "make", "filter_field"),
    [
        ("/v1/tickets", make_ticket, "requester_id"),
        ("/v1/interactions", make_interaction, "contact_id"),
        ("/v1/tasks", make_task, "contact_id"),
        ("/v1/orders", make_order, "contact_id"),
    ],
)
async def test_service_and_sales_lists_export_with_their_filters(
    client: AsyncClient, workspace: Workspace, path: str, make: Any, filter_field: str
) -> None:
    contact = await make_contact(client, workspace)
    chosen = [await make(client, workspace, **{filter_field: contact["id"]}) for _ in range(2)]
    await make(client, workspace)  # another contact's: filtered out
    lines = await client.get(
        f"{path}/export",
        params={"format": "jsonl", filter_field: contact["id"]},
        headers=workspace.headers,
    )
    assert lines.status_code == 200, lines.text
    assert sorted(json.loads(line)["id"] for line in lines.text.splitlines()) == sorted(
        record["id"] for record in chosen
    )
    table = await client.get(f"{path}/export", headers=workspace.headers)
    assert len(list(csv.DictReader(io.StringIO(table.text)))) == 3
    assert_problem(
        await client.get(f"{path}/export?sort=secret", headers=workspace.headers), 422, field="sort"
    )


async def test_events_and_the_audit_log_export_with_their_filters(
    client: AsyncClient, workspace: Workspace
) -> None:
    contacts = [await make_contact(client, workspace) for _ in range(2)]
    await make_company(client, workspace)
    events = await client.get(
        "/v1/events/export",
        params={"format": "jsonl", "type": "contact.created"},
        headers=workspace.headers,
    )
    assert events.status_code == 200, events.text
    assert sorted(json.loads(line)["resource_id"] for line in events.text.splitlines()) == sorted(
        contact["id"] for contact in contacts
    )
    audit = await client.get(
        "/v1/audit-log/export", params={"record_type": "contact"}, headers=workspace.headers
    )
    assert 'filename="audit-log.csv"' in audit.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(audit.text)))
    assert sorted(row["record_id"] for row in rows) == sorted(c["id"] for c in contacts)
    assert json.loads(rows[0]["changes"])["email"]["old"] is None


async def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(
    client: AsyncClient, workspace: Workspace
) -> None:
    # (Leading tabs and carriage returns, neutralised too, never get in: inputs are stripped.)
    hostile = ['=HYPERLINK("http://evil.example")', "+1+2", "-2+3", "@SUM(A1)", "+44 20 7946"]
    for number, value in enumerate(hostile):
        await make_contact(client, workspace, email=f"h{number}@example.com", last_name=value)
    await make_contact(client, workspace, email="n@example.com", last_name="-5", job_title="Ok")
    exported = await client.get("/v1/contacts/export", headers=workspace.headers)
    names = {row["email"]: row["last_name"] for row in csv.DictReader(io.StringIO(exported.text))}
    for number, value in enumerate(hostile):
        assert names[f"h{number}@example.com"] == "'" + value
    assert names["n@example.com"] == "-5"  # a plain number is left as it is
    lines = await client.get("/v1/contacts/export?format=jsonl", headers=workspace.headers)
    assert {json.loads(line)["last_name"] for line in lines.text.splitlines()} >= set(hostile)
