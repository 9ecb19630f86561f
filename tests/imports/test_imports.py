"""Import jobs through HTTP: upload, the worker's load, progress counts and row errors."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.config import Settings
from crm_api.imports import jobs
from crm_api.imports.jobs import ANALYZE_AFTER_ROWS, claim_next, run_job, run_next
from crm_api.models import ImportJob
from tests.factories import (
    Workspace,
    bearer,
    make_api_key,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_member,
    make_pipeline,
    new_workspace,
)
from tests.imports.conftest import errors_of, imported, upload


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
    finished = await client.get(
        "/v1/events", params={"type": "import.completed"}, headers=workspace.headers
    )
    (event,) = finished.json()["data"]
    assert event["resource_id"] == job["id"]
    assert event["data"]["created"] == 2


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


async def test_upsert_updates_only_the_given_fields_and_counts_what_did_not_change(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    ada = await make_contact(
        client, workspace, email="ada@example.com", first_name="Ada", job_title="Countess"
    )
    await make_contact(client, workspace, email="same@example.com", first_name="Same")
    csv = (
        "email,first_name,job_title,lifecycle_stage\n"
        "ADA@example.com,Augusta,,customer\n"
        "same@example.com,Same,,\n"
        "new@example.com,New,,\n"
    )
    job = await imported(client, app, settings, workspace, csv, mode="upsert")
    assert (job["created"], job["updated"], job["unchanged"], job["failed"]) == (1, 1, 1, 0)
    after = (await client.get(f"/v1/contacts/{ada['id']}", headers=workspace.headers)).json()
    assert after["first_name"] == "Augusta"
    assert after["job_title"] == "Countess"  # an empty cell leaves the field alone
    assert after["lifecycle_stage"] == "customer"
    assert after["version"] == ada["version"] + 1
    events = await client.get(
        "/v1/events", params={"type": "contact.updated"}, headers=workspace.headers
    )
    (event,) = events.json()["data"]
    assert event["resource_id"] == ada["id"]
    assert event["previous"] == {
        "email": "ada@example.com",  # matched ignoring case; the row's spelling is kept
        "first_name": "Ada",
        "lifecycle_stage": "lead",
        "updated_at": ada["updated_at"],
        "version": ada["version"],
    }
    history = await client.get(
        f"/v1/contacts/{ada['id']}/lifecycle-history", headers=workspace.headers
    )
    assert [change["to_stage"] for change in history.json()["data"]] == ["lead", "customer"]


async def test_create_mode_refuses_existing_keys_archived_records_and_unknown_references(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_contact(client, workspace, email="taken@example.com")
    archived = await make_contact(client, workspace, email="archived@example.com")
    await client.post(f"/v1/contacts/{archived['id']}/archive", headers=workspace.headers)
    company = await make_company(client, workspace, domain="acme.example")
    missing = "01900000-0000-7000-8000-000000000000"
    csv = (
        "email,company_id\n"
        "taken@example.com,\n"
        f"fresh@example.com,{company['id']}\n"
        f"nowhere@example.com,{missing}\n"
    )
    job = await imported(client, app, settings, workspace, csv)
    assert (job["created"], job["failed"]) == (1, 2)
    errors = await errors_of(client, workspace, job)
    assert errors[1][0]["loc"] == ["email"]
    assert "already exists" in errors[1][0]["msg"]
    assert errors[3][0] == {
        "loc": ["company_id"],
        "msg": f"no company {missing} in this workspace",
        "type": "conflict",
    }
    upsert = await imported(
        client,
        app,
        settings,
        workspace,
        "email,first_name\narchived@example.com,X\n",
        mode="upsert",
    )
    assert upsert["failed"] == 1
    assert "archived" in (await errors_of(client, workspace, upsert))[1][0]["msg"]


async def test_custom_fields_are_mapped_and_read_by_their_type(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_custom_field(client, workspace, key="seats", label="Seats", field_type="number")
    await make_custom_field(
        client, workspace, key="plan", label="Plan", field_type="enum", options=["free", "pro"]
    )
    csv = (
        "Mail,Seat count,Plan\n"
        "a@example.com,12,pro\n"
        "b@example.com,many,free\n"
        "c@example.com,3,gold\n"
    )
    job = await imported(
        client,
        app,
        settings,
        workspace,
        csv,
        mapping={
            "Mail": "email",
            "Seat count": "custom_fields.seats",
            "Plan": "custom_fields.plan",
        },
    )
    assert (job["created"], job["failed"]) == (1, 2)
    found = await client.get(
        "/v1/contacts", params={"custom_fields.seats_gte": "10"}, headers=workspace.headers
    )
    assert [c["custom_fields"] for c in found.json()["data"]] == [{"seats": 12, "plan": "pro"}]
    errors = await errors_of(client, workspace, job)
    assert errors[2][0]["loc"] == ["Seat count"]
    assert errors[3][0]["loc"] == ["Plan"]


async def test_required_custom_fields_bind_creations_not_updates(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_contact(client, workspace, email="old@example.com")
    await make_custom_field(client, workspace, key="region", label="Region", required=True)
    csv = "email,first_name\nold@example.com,Old\nnew@example.com,New\n"
    job = await imported(client, app, settings, workspace, csv, mode="upsert")
    assert (job["updated"], job["failed"]) == (1, 1)
    assert "region" in (await errors_of(client, workspace, job))[2][0]["msg"]


async def test_json_lines_of_companies_upsert_on_the_domain(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    acme = await make_company(client, workspace, name="Acme", domain="acme.example")
    lines = "\n".join(
        [
            '{"name": "Acme Ltd", "domain": "https://www.ACME.example/", "employee_count": 50}',
            '{"name": "Globex", "domain": "globex.example", "annual_revenue": '
            '{"amount": "1000.50", "currency": "EUR"}, "unknown": 1}',
            '{"name": "", "domain": "empty.example"}',
            "not json",
            "",
        ]
    )
    job = await imported(
        client,
        app,
        settings,
        workspace,
        lines,
        resource="companies",
        filename="companies.jsonl",
        mode="upsert",
    )
    assert (job["format"], job["rows_total"]) == ("jsonl", 4)
    assert (job["created"], job["updated"], job["failed"]) == (1, 1, 2)
    after = (await client.get(f"/v1/companies/{acme['id']}", headers=workspace.headers)).json()
    assert (after["name"], after["employee_count"]) == ("Acme Ltd", 50)
    globex = await client.get(
        "/v1/companies", params={"domain": "globex.example"}, headers=workspace.headers
    )
    assert globex.json()["data"][0]["annual_revenue"] == {"amount": "1000.50", "currency": "EUR"}
    errors = await errors_of(client, workspace, job)
    assert errors[3][0]["loc"] == ["name"]
    assert "not valid JSON" in errors[4][0]["msg"]


async def test_an_erased_email_is_not_imported_again_unless_forced(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    gone = await make_contact(client, workspace, email="gone@example.com")
    erased = await client.post(f"/v1/contacts/{gone['id']}/erase", headers=workspace.headers)
    assert erased.status_code == 200, erased.text
    csv = "email\nGone@example.com\n"
    job = await imported(client, app, settings, workspace, csv)
    assert (job["created"], job["failed"]) == (0, 1)
    assert "erased" in (await errors_of(client, workspace, job))[1][0]["msg"]
    forced = await imported(client, app, settings, workspace, csv, reimport_erased="true")
    assert (forced["created"], forced["failed"]) == (1, 0)


@pytest.mark.parametrize(
    ("content", "form", "field"),
    [
        ("email\n", {}, ["body", "file"]),
        ("Mail\nx@example.com\n", {}, ["body", "mapping"]),
        ("email\nx@example.com\n", {"mapping": '{"email": "nope"}'}, ["body", "mapping", "email"]),
        ("email\nx@example.com\n", {"mapping": '{"Other": "email"}'}, ["body", "mapping", "Other"]),
        ("email\nx@example.com\n", {"mapping": "[1]"}, ["body", "mapping"]),
        ("email\nx@example.com\n", {"filename": "rows.xlsx"}, ["body", "file"]),
        ("email\nx@example.com\n", {"resource": "tickets"}, ["body", "resource"]),
        ("email\nx@example.com\n", {"mode": "merge"}, ["body", "mode"]),
        (b"email\n\xff@example.com\n", {}, ["body", "file"]),
    ],
)
async def test_a_file_or_mapping_that_cannot_work_is_a_422_naming_it(
    client: AsyncClient,
    workspace: Workspace,
    content: str | bytes,
    form: dict[str, str],
    field: list[str],
) -> None:
    response = await upload(client, workspace, content, **form)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["loc"] for error in response.json()["errors"]]
    listed = await client.get("/v1/imports", headers=workspace.headers)
    assert listed.json()["data"] == []


async def test_uploads_take_multipart_and_the_resources_scopes(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    as_json = await client.post(
        "/v1/imports", json={"resource": "contacts"}, headers=workspace.headers
    )
    assert as_json.status_code == 415
    job = await imported(client, app, settings, workspace, "email\nx@example.com\n")
    companies_only = bearer(
        await make_api_key(client, workspace, "companies:read", "companies:write")
    )
    refused = await upload(
        client,
        Workspace(workspace.id, companies_only["Authorization"][7:]),
        "email\ny@example.com\n",
    )
    assert refused.status_code == 403
    assert (await client.get(f"/v1/imports/{job['id']}", headers=companies_only)).status_code == 403
    listed = await client.get("/v1/imports", headers=companies_only)
    assert listed.json()["data"] == []
    mine = await client.get(
        "/v1/imports", params={"resource": "contacts"}, headers=workspace.headers
    )
    assert [item["id"] for item in mine.json()["data"]] == [job["id"]]


@pytest.mark.slow
async def test_a_hundred_thousand_rows_load_in_one_job(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    rows = 100_000
    csv = "email,first_name,last_name,tags\n" + "".join(
        f"p{n}@example{n % 50}.com,F{n},L{n},{'vip' if n % 10 == 0 else ''}\n" for n in range(rows)
    )
    job = await imported(client, app, settings, workspace, csv)
    assert (job["status"], job["rows_done"], job["created"], job["failed"]) == (
        "succeeded",
        rows,
        rows,
        0,
    )
    vip = await client.get(
        "/v1/contacts", params={"tags": "vip", "limit": 1}, headers=workspace.headers
    )
    assert vip.status_code == 200
    assert len(vip.json()["data"]) == 1


async def test_deals_enter_their_stage_as_a_creation_through_the_api_does(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    first, won = pipeline["stages"][0], next(s for s in pipeline["stages"] if s["kind"] == "won")
    other = await make_pipeline(client, workspace, name="Other")
    csv = (
        "name,pipeline_id,stage_id,amount,tags\n"
        f'Open deal,{pipeline["id"]},,"{{""amount"": ""100.00"", ""currency"": ""EUR""}}",a;b\n'
        f"Won deal,{pipeline['id']},{won['id']},,\n"
        f"Wrong stage,{pipeline['id']},{other['stages'][0]['id']},,\n"
        ",,,,\n"
    )
    job = await imported(client, app, settings, workspace, csv, resource="deals")
    assert (job["created"], job["failed"]) == (2, 2)
    errors = await errors_of(client, workspace, job)
    assert errors[3][0]["loc"] == ["stage_id"]
    assert errors[4][0]["msg"] == "the row is empty"
    deals = (await client.get("/v1/deals", headers=workspace.headers)).json()["data"]
    by_name = {deal["name"]: deal for deal in deals}
    assert by_name["Open deal"]["stage_id"] == first["id"]
    assert by_name["Open deal"]["amount"] == {"amount": "100.00", "currency": "EUR"}
    assert by_name["Open deal"]["closed_at"] is None
    assert by_name["Won deal"]["closed_at"] is not None
    history = await client.get(
        f"/v1/deals/{by_name['Won deal']['id']}/stage-history", headers=workspace.headers
    )
    assert [change["to_stage_id"] for change in history.json()["data"]] == [won["id"]]
    events = await client.get(
        "/v1/events", params={"resource_id": by_name["Won deal"]["id"]}, headers=workspace.headers
    )
    assert sorted(event["type"] for event in events.json()["data"]) == [
        "deal.created",
        "deal.won",
    ]
    upsert = await upload(client, workspace, csv, resource="deals", mode="upsert")
    assert upsert.status_code == 422
    assert upsert.json()["errors"][0]["loc"] == ["body", "mode"]


async def test_a_retried_upload_with_the_same_idempotency_key_queues_one_job(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Each attempt has its own multipart boundary; the key still recognises the upload."""
    headers = {**workspace.headers, "Idempotency-Key": "upload-1"}
    responses = [
        await client.post(
            "/v1/imports",
            files={"file": ("rows.csv", b"email\nonce@example.com\n", "text/csv")},
            data={"resource": "contacts"},
            headers=headers,
        )
        for _ in range(2)
    ]
    assert [response.status_code for response in responses] == [201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert responses[1].headers["Idempotent-Replayed"] == "true"
    other = await client.post(
        "/v1/imports",
        files={"file": ("rows.csv", b"email\nother@example.com\n", "text/csv")},
        data={"resource": "contacts"},
        headers=headers,
    )
    assert other.status_code == 422
    listed = await client.get("/v1/imports", headers=workspace.headers)
    assert len(listed.json()["data"]) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"resource=contacts"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\ngarbage"),
        (
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="resource"\r\n\r\n'
            b"contacts\r\n--xyz--\r\n",
        ),
        (  # found by schema fuzzing: an empty file without an extension
            "multipart/form-data; boundary=xyz",
            b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="file"\r\n\r\n'
            b'\r\n--xyz\r\nContent-Disposition: form-data; name="resource"\r\n\r\n'
            b'contacts\r\n--xyz\r\nContent-Disposition: form-data; name="mapping"\r\n\r\n'
            b"null\r\n--xyz--\r\n",
        ),
    ],
)
async def test_a_broken_or_incomplete_upload_is_a_clear_4xx(
    client: AsyncClient, workspace: Workspace, content_type: str, body: bytes
) -> None:
    response = await client.post(
        "/v1/imports",
        content=body,
        headers={**workspace.headers, "Content-Type": content_type, "Idempotency-Key": "k"},
    )
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_worker_whose_job_was_taken_over_loads_nothing(
    committing_app: FastAPI, committing_client: AsyncClient, settings: Settings
) -> None:
    """Worker A stalls past its lease while the job moves on (here: its progress set to 10
    rows, as another worker's first chunk would); A, back, stops at its first chunk without
    loading a row; the job resumes after row 10; A, back once more, changes nothing."""
    workspace = await new_workspace(committing_app, "Taken over")
    content = "email\n" + "".join(f"t{n}@example.com\n" for n in range(30))
    response = await upload(committing_client, workspace, content)
    assert response.status_code == 201, response.text
    sessionmaker = committing_app.state.sessionmaker
    small = settings.model_copy(update={"import_chunk_rows": 10})
    stalled = await claim_next(sessionmaker, small)
    assert stalled is not None
    assert stalled.id == uuid.UUID(response.json()["id"])

    async def set_job(**values: Any) -> None:
        async with sessionmaker() as session, session.begin():
            await session.execute(
                update(ImportJob).where(ImportJob.id == stalled.id).values(**values)
            )

    async def contacts_and_events() -> tuple[int, int]:
        async with sessionmaker() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM contacts WHERE workspace_id = :w), "
                        "(SELECT count(*) FROM events WHERE workspace_id = :w "
                        "AND type = 'contact.created')"
                    ),
                    {"w": workspace.id},
                )
            ).one()
        return int(row[0]), int(row[1])

    await set_job(rows_done=10)
    await run_job(sessionmaker, small, stalled)
    assert await contacts_and_events() == (0, 0)

    await set_job(lease_expires_at=func.now() - timedelta(seconds=1))
    finished = await run_next(sessionmaker, small)
    assert finished is not None
    assert (finished.status, finished.rows_done, finished.created) == ("succeeded", 30, 20)
    assert await contacts_and_events() == (20, 20)

    late = await run_job(sessionmaker, small, stalled)
    assert (late.status, late.rows_done, late.created) == ("succeeded", 30, 20)
    job = await committing_client.get(response.headers["Location"], headers=workspace.headers)
    assert job.json()["status"] == "succeeded"


async def test_a_row_of_the_wrong_shape_fails_alone(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    lines = "\n".join(
        [
            '{"email": "a@example.com", "custom_fields": "plain text"}',
            '{"email": "b@example.com", "custom_fields": [1, 2]}',
            '{"email": "c@example.com", "tags": {"not": "a list"}}',
            '{"email": "d@example.com"}',
        ]
    )
    job = await imported(client, app, settings, workspace, lines, filename="rows.jsonl")
    assert (job["status"], job["created"], job["failed"]) == ("succeeded", 1, 3)
    errors = await errors_of(client, workspace, job)
    assert errors[1][0]["loc"] == ["custom_fields"]
    assert errors[3][0]["loc"][0] == "tags"


async def test_a_row_that_trips_a_bug_fails_alone(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = jobs.prepare

    def tripping(*args: Any) -> Any:
        if args[3].number == 2:
            raise RuntimeError("a bug")
        return real(*args)

    monkeypatch.setattr(jobs, "prepare", tripping)
    csv = "email\na@example.com\nb@example.com\nc@example.com\n"
    job = await imported(client, app, settings, workspace, csv)
    assert (job["status"], job["created"], job["failed"]) == ("succeeded", 2, 1)
    assert "internal error" in (await errors_of(client, workspace, job))[2][0]["msg"]


async def test_a_chunk_that_cannot_be_written_fails_the_job_and_says_so(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows are valid but the chunk's write fails unexpectedly (a bug): the job ends `failed`
    with what it did so far, `import.failed` is recorded, and nothing of the chunk remains."""

    async def broken(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(jobs, "load_chunk", broken)
    job = await imported(client, app, settings, workspace, "email\na@example.com\n")
    assert (job["status"], job["rows_done"], job["created"]) == ("failed", 0, 0)
    assert "internal error" in job["error"]
    listed = await client.get("/v1/contacts", headers=workspace.headers)
    assert listed.json()["data"] == []
    failed = await client.get(
        "/v1/events", params={"type": "import.failed"}, headers=workspace.headers
    )
    assert [event["resource_id"] for event in failed.json()["data"]] == [job["id"]]


async def test_a_cell_longer_than_the_csv_modules_default_limit_fails_its_row_only(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    huge = "x" * 140_000
    content = f"email,last_name\nlong@example.com,{huge}\nfine@example.com,Fine\n"
    job = await imported(client, app, settings, workspace, content)
    assert (job["status"], job["created"], job["failed"]) == ("succeeded", 1, 1)
    errors = await errors_of(client, workspace, job)
    assert errors[1][0]["loc"] == ["last_name"]


async def test_an_export_imported_into_another_workspace_keeps_its_links(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    """Ids mean nothing in another workspace: an export also names each linked record (the
    company's domain, the owner's email, the pipeline's and stage's names), and an import
    links by those names, refusing a row whose name is not found."""
    other = await new_workspace(app, "Elsewhere")
    email = "boss@example.com"
    here = {
        "company": await make_company(client, workspace, domain="acme.example"),
        "gone": await make_company(client, workspace, domain="gone.example"),
        "owner": await make_member(client, workspace, email=email),
        "pipeline": await make_pipeline(client, workspace, name="Renewals"),
        "lonely": await make_pipeline(client, workspace, name="Only here"),
    }
    await make_contact(
        client,
        workspace,
        email="linked@example.com",
        company_id=here["company"]["id"],
        owner_id=here["owner"]["id"],
    )
    await make_contact(client, workspace, email="gone@example.com", company_id=here["gone"]["id"])
    later = next(s for s in here["pipeline"]["stages"] if s["name"] == "Later")
    await make_deal(
        client,
        workspace,
        name="Renewal",
        pipeline_id=here["pipeline"]["id"],
        stage_id=later["id"],
        company_id=here["company"]["id"],
        owner_id=here["owner"]["id"],
    )
    await make_deal(client, workspace, name="Nowhere", pipeline_id=here["lonely"]["id"])
    contacts_csv = await client.get(
        "/v1/contacts/export", params={"format": "csv"}, headers=workspace.headers
    )
    assert contacts_csv.status_code == 200
    header = contacts_csv.text.splitlines()[0].split(",")
    assert {"company_domain", "owner_email"} <= set(header)
    deals_jsonl = await client.get(
        "/v1/deals/export", params={"format": "jsonl"}, headers=workspace.headers
    )
    assert deals_jsonl.status_code == 200

    there = {
        "company": await make_company(client, other, domain="acme.example"),
        "owner": await make_member(client, other, email=email.upper()),
        "pipeline": await make_pipeline(client, other, name="Renewals"),
    }
    job = await imported(client, app, settings, other, contacts_csv.text)
    assert (job["created"], job["failed"]) == (1, 1), job
    (failure,) = (await errors_of(client, other, job)).values()
    assert failure == [
        {
            "loc": ["company_domain"],
            "msg": "no company with the domain gone.example in this workspace",
            "type": "conflict",
        }
    ]
    (contact,) = (await client.get("/v1/contacts", headers=other.headers)).json()["data"]
    assert contact["email"] == "linked@example.com"
    assert (contact["company_id"], contact["owner_id"]) == (
        there["company"]["id"],
        there["owner"]["id"],
    )

    job = await imported(
        client, app, settings, other, deals_jsonl.text, resource="deals", filename="deals.jsonl"
    )
    assert (job["created"], job["failed"]) == (1, 1), job
    (failure,) = (await errors_of(client, other, job)).values()
    assert failure[0]["loc"] == ["pipeline_name"]
    assert failure[0]["msg"] == "no pipeline named Only here in this workspace"
    (deal,) = (await client.get("/v1/deals", headers=other.headers)).json()["data"]
    there_later = next(s for s in there["pipeline"]["stages"] if s["name"] == "Later")
    assert deal["name"] == "Renewal"
    assert (deal["pipeline_id"], deal["stage_id"]) == (there["pipeline"]["id"], there_later["id"])
    assert (deal["company_id"], deal["owner_id"]) == (
        there["company"]["id"],
        there["owner"]["id"],
    )


async def test_a_link_that_names_nothing_or_cannot_be_read_fails_its_row(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace, name="Renewals")
    csv = (
        "name,pipeline_name,stage_name,company_domain,owner_email\n"
        "Good,Renewals,Later,,\n"
        "No stage,Renewals,Nope,,\n"
        "Bad domain,Renewals,,not a domain,\n"
        "No owner,Renewals,,,nobody@example.com\n"
    )
    job = await imported(client, app, settings, workspace, csv, resource="deals")
    assert (job["created"], job["failed"]) == (1, 3), job
    errors = await errors_of(client, workspace, job)
    assert errors[2] == [
        {
            "loc": ["stage_name"],
            "msg": "no stage named Nope in the deal's pipeline",
            "type": "conflict",
        }
    ]
    assert errors[3][0]["loc"] == ["company_domain"]
    assert errors[3][0]["msg"] == "must be a domain name such as example.com"
    assert errors[4][0]["msg"] == "no member with the email nobody@example.com in this workspace"
    (deal,) = (await client.get("/v1/deals", headers=workspace.headers)).json()["data"]
    later = next(s for s in pipeline["stages"] if s["name"] == "Later")
    assert deal["stage_id"] == later["id"]


async def test_links_read_back_guarded_cells_and_fail_only_their_row_on_bad_text(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    """A name that starts like a spreadsheet formula is exported as '+Upsell and imported back
    as +Upsell; a NUL fails its row, not the job; a blank name is no name; emails compare
    with PostgreSQL's case folding."""
    pipeline = await make_pipeline(
        client,
        workspace,
        name="+Upsell",
        stages=[{"name": "-Cold", "probability": 10}, {"name": "=Hot", "probability": 90}],
    )
    owner = await make_member(client, workspace, email="İnfo@example.com")
    hot = next(s for s in pipeline["stages"] if s["name"] == "=Hot")
    await make_deal(
        client, workspace, name="Guarded", pipeline_id=pipeline["id"], stage_id=hot["id"]
    )
    exported = await client.get(
        "/v1/deals/export", params={"format": "csv"}, headers=workspace.headers
    )
    assert "'+Upsell" in exported.text
    assert "'=Hot" in exported.text
    job = await imported(client, app, settings, workspace, exported.text, resource="deals")
    assert (job["created"], job["failed"]) == (1, 0), job
    deals = (await client.get("/v1/deals", headers=workspace.headers)).json()["data"]
    assert [d["stage_id"] for d in deals] == [hot["id"], hot["id"]]

    lines = "\n".join(
        [
            '{"name": "before", "owner_email": "İnfo@example.com"}',
            '{"name": "nul", "owner_email": "o\\u0000@example.com"}',
            '{"name": "blank", "pipeline_name": "   ", "stage_name": ""}',
        ]
    )
    job = await imported(
        client, app, settings, workspace, lines, resource="deals", filename="deals.jsonl"
    )
    assert (job["status"], job["created"], job["failed"]) == ("succeeded", 2, 1), job
    (failure,) = (await errors_of(client, workspace, job)).values()
    assert failure[0]["loc"] == ["owner_email"]
    assert failure[0]["msg"] == "must not contain NUL characters"
    found = await client.get("/v1/deals", params={"q": "before"}, headers=workspace.headers)
    assert [d["owner_id"] for d in found.json()["data"]] == [owner["id"]]


async def test_a_large_import_leaves_the_planner_fresh_statistics(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    connection: AsyncConnection,
) -> None:
    """Past ANALYZE_AFTER_ROWS rows, the table is analyzed as the job ends: the first search
    after a bulk load is planned for the table as it now is (autovacuum cannot have seen these
    rows: they are not even committed)."""
    rows = "".join(f"p{n}@example.com,Person{n}\n" for n in range(ANALYZE_AFTER_ROWS))
    job = await imported(client, app, settings, workspace, "email,first_name\n" + rows)
    assert job["created"] == ANALYZE_AFTER_ROWS
    counted = await connection.scalar(text("SELECT count(*) FROM contacts"))
    estimated = await connection.scalar(
        text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'contacts'::regclass")
    )
    assert estimated == counted >= ANALYZE_AFTER_ROWS
    found = await client.get("/v1/contacts", params={"q": "person999"}, headers=workspace.headers)
    assert [row["email"] for row in found.json()["data"]] == ["p999@example.com"]
