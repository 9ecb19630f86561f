"""What an import records for a contact is what the API serves and what its own writes record:
PostgreSQL builds the events and audit entries (imports.recorded), compared here with the
served contact and with ``core.events`` run on it in Python."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.config import Settings
from crm_api.core.events import audited_changes, changed_fields
from crm_api.imports.read_json import timestamp_sql
from tests.factories import Workspace, make_company, make_custom_field, make_member
from tests.imports.conftest import imported


async def _one(client: AsyncClient, workspace: Workspace, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=workspace.headers)
    assert response.status_code == 200, response.text
    (item,) = response.json()["data"]
    return item


async def _served(client: AsyncClient, workspace: Workspace, contact_id: str) -> Any:
    response = await client.get(f"/v1/contacts/{contact_id}", headers=workspace.headers)
    assert response.status_code == 200
    return response.json()


async def test_an_imported_contact_is_recorded_as_the_api_serves_it(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_custom_field(client, workspace, key="plan")
    await make_custom_field(client, workspace, key="api_token", label="API token")
    await make_company(client, workspace, domain="acme.example")
    owner = await make_member(client, workspace)
    row = {
        "email": "Grace@Example.com",
        "first_name": "",
        "last_name": "Hopper",
        "additional_emails": ["g.hopper@example.org"],
        "phones": [{"number": "+44 20 7946 0958", "label": "work"}, {"number": "+1 202 555 0143"}],
        "job_title": "Rear admiral",
        "lead_source": "navy",
        "company_domain": "acme.example",
        "owner_email": owner["email"],
        "address": {"city": "Arlington", "country": "US"},
        "tags": ["cobol"],
        "custom_fields": {"plan": "pro", "api_token": "tok-123"},
    }
    job = await imported(
        client, app, settings, workspace, orjson.dumps(row).decode(), filename="rows.jsonl"
    )
    assert (job["created"], job["failed"]) == (1, 0), job
    contact = await _one(client, workspace, "/v1/contacts", email="grace@example.com")
    created = await _one(client, workspace, "/v1/events", type="contact.created")
    assert created["data"] == contact
    assert created["previous"] is None
    entry = await _one(client, workspace, "/v1/audit-log", record_id=contact["id"])
    assert entry["changes"] == audited_changes("contact.created", contact, None)
    assert entry["changes"]["custom_fields"]["new"] == {"plan": "pro", "api_token": "[redacted]"}

    change = {
        "email": "grace@example.com",
        "last_name": "Murray Hopper",
        "lifecycle_stage": "customer",
        "address": {"line1": "1 Navy Way", "city": "Boston"},
        "custom_fields": {"api_token": "tok-456"},
    }
    job = await imported(
        client,
        app,
        settings,
        workspace,
        orjson.dumps(change).decode(),
        filename="rows.jsonl",
        mode="upsert",
    )
    assert (job["updated"], job["failed"]) == (1, 0), job
    after = await _served(client, workspace, contact["id"])
    assert after["address"] == {**contact["address"], "line1": "1 Navy Way", "city": "Boston"}
    updated = await _one(client, workspace, "/v1/events", type="contact.updated")
    assert updated["data"] == after
    assert updated["previous"] == changed_fields(contact, after)
    audit = await client.get(
        "/v1/audit-log", params={"record_id": contact["id"]}, headers=workspace.headers
    )
    (update_entry,) = [e for e in audit.json()["data"] if e["action"] == "contact.updated"]
    assert update_entry["changes"] == audited_changes("contact.updated", after, updated["previous"])
    assert update_entry["changes"]["custom_fields"]["old"]["api_token"] == "[redacted]"
    history = await client.get(
        f"/v1/contacts/{contact['id']}/lifecycle-history", headers=workspace.headers
    )
    assert [(c["from_stage"], c["to_stage"]) for c in history.json()["data"]] == [
        (None, "lead"),
        ("lead", "customer"),
    ]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ],
)
async def test_timestamps_are_written_as_pydantic_writes_them(
    connection: AsyncConnection, moment: datetime
) -> None:
    expression = timestamp_sql("CAST(:moment AS timestamptz)")
    built = await connection.scalar(text(f"SELECT {expression}").bindparams(moment=moment))
    assert built == TypeAdapter(datetime).dump_python(moment, mode="json")
