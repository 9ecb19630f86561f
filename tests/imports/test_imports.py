"""Import jobs through HTTP: upload, the worker's load, progress counts and row errors."""

from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.core.config import Settings
from tests.factories import Workspace
from tests.imports.conftest import errors_of, imported


async def test_a_csv_of_contacts_is_loaded_with_events_and_audit(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    csv = (
        "email,first_name,last_name,tags,phones,lifecycle_stage\n"
        "ada@example.com,Ada,Lovelace,vip;math,+44 20 7946 0958,customer\n"
        "grace@example.com,Grace,Hopper,,,\n"
    )
    job = await imported(client, app, settings, workspace, csv)
    assert job["status"] == "succeeded"
    assert (job["rows_total"], job["rows_done"], job["created"], job["failed"]) == (2, 2, 2, 0)
    found = await client.get(
        "/v1/contacts", params={"email": "ada@example.com"}, headers=workspace.headers
    )
    (ada,) = found.json()["data"]
    assert ada["tags"] == ["vip", "math"]
    assert ada["phones"] == [{"label": "mobile", "number": "+44 20 7946 0958"}]
    assert ada["lifecycle_stage"] == "customer"
    events = await client.get(
        "/v1/events", params={"type": "contact.created"}, headers=workspace.headers
    )
    assert {event["data"]["email"] for event in events.json()["data"]} == {
        "ada@example.com",
        "grace@example.com",
    }
    audit = await client.get(
        "/v1/audit-log", params={"record_id": ada["id"]}, headers=workspace.headers
    )
    (entry,) = audit.json()["data"]
    assert entry["action"] == "contact.created"
    assert entry["changes"]["email"] == {"old": None, "new": "ada@example.com"}
    history = await client.get(
        f"/v1/contacts/{ada['id']}/lifecycle-history", headers=workspace.headers
    )
    assert [change["to_stage"] for change in history.json()["data"]] == ["customer"]
    duplicates = await client.get("/v1/contacts/duplicates", headers=workspace.headers)
    assert duplicates.status_code == 200


async def test_bad_rows_are_reported_and_the_rest_load(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    csv = "E-mail,Name\nok@example.com,Ok\nnot-an-email,Bad\nOK@example.com,Twice\n,\n"
    job = await imported(
        client,
        app,
        settings,
        workspace,
        csv,
        mapping={"E-mail": "email", "Name": "first_name"},
    )
    assert (job["created"], job["failed"], job["rows_done"]) == (1, 3, 4)
    errors = await errors_of(client, workspace, job)
    assert set(errors) == {2, 3, 4}
    assert errors[2][0]["loc"] == ["E-mail"]
    assert errors[3][0]["type"] == "duplicate"
    assert "row 1" in errors[3][0]["msg"]
