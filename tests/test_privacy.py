"""Consent records, subject access and erasure: after an erasure no personal value of the
person is left in any text column of the database, the KPIs still count what they counted,
and the email is not re-imported by accident."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import (
    Workspace,
    invite,
    make_contact,
    make_custom_field,
    make_member,
    make_pipeline,
    make_product,
)
from tests.portal.conftest import latest_token
from tests.problems import assert_problem

TEXT_TYPES = ("text", "character varying", "jsonb", "json", "ARRAY", "bytea")


async def _consent(client: AsyncClient, workspace: Workspace, contact_id: str, **body: Any) -> Any:
    response = await client.post(
        f"/v1/contacts/{contact_id}/consents", json=body, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_consent_history_and_consented_lists(
    client: AsyncClient, workspace: Workspace
) -> None:
    yes = await make_contact(client, workspace, email="yes@example.com")
    changed = await make_contact(client, workspace, email="changed@example.com")
    await make_contact(client, workspace, email="never@example.com")
    await _consent(
        client,
        workspace,
        yes["id"],
        purpose="marketing_email",
        granted=True,
        source="web_form",
        proof="Ticked 'Send me the newsletter' on /signup",
    )
    await _consent(client, workspace, changed["id"], purpose="marketing_email", granted=True)
    await _consent(client, workspace, changed["id"], purpose="marketing_email", granted=False)
    overview = await client.get(f"/v1/contacts/{changed['id']}/consents", headers=workspace.headers)
    assert overview.json()["in_force"]["marketing_email"]["granted"] is False
    assert [r["granted"] for r in overview.json()["history"]] == [True, False]
    consented = await client.get(
        "/v1/contacts?consented_to=marketing_email", headers=workspace.headers
    )
    assert [c["email"] for c in consented.json()["data"]] == ["yes@example.com"]
    segment = await client.post(
        "/v1/segments",
        json={"name": "Newsletter", "filters": {"consented_to": ["marketing_email"]}},
        headers=workspace.headers,
    )
    assert segment.status_code == 201, segment.text
    count = await client.get(
        f"/v1/segments/{segment.json()['id']}/count", headers=workspace.headers
    )
    assert count.json()["count"] == 1
    assert_problem(
        await client.post(
            f"/v1/contacts/{yes['id']}/consents",
            json={"purpose": "telepathy", "granted": True},
            headers=workspace.headers,
        ),
        422,
        field="purpose",
    )


async def _everywhere(connection: AsyncConnection, value: str) -> list[str]:
    """Every column of every table holding `value` (ignoring case), as table.column."""
    columns = await connection.execute(
        text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public' AND data_type = ANY(:types)"
        ),
        {"types": list(TEXT_TYPES)},
    )
    found = []
    for table, column, data_type in columns.all():
        as_text = f"encode({column}, 'escape')" if data_type == "bytea" else f"{column}::text"
        hits = await connection.scalar(
            text(f'SELECT count(*) FROM "{table}" WHERE {as_text} ILIKE :pattern'),  # noqa: S608 - names from the catalog
            {"pattern": f"%{value}%"},
        )
        if hits:
            found.append(f"{table}.{column}")
    return found


async def test_erasure_leaves_no_personal_value_anywhere(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    tag = uuid.uuid4().hex[:8]
    first, last, email = f"Zebulon{tag}", f"Quartermain{tag}", f"zq{tag}@example.com"
    phone, street = f"+44 20 {int(tag, 16) % 10**8:08d}", f"{tag} Elm Street"
    await make_custom_field(client, workspace, key="nickname", field_type="text")
    created = await client.post(
        "/v1/contacts",
        json={
            "first_name": first,
            "last_name": last,
            "email": email,
            "phones": [{"number": phone}],
            "job_title": f"Chief {tag}",
            "address": {"line1": street, "city": "London"},
            "custom_fields": {"nickname": f"Zeb{tag}"},
            "tags": [f"vip{tag}"],
        },
        headers={**workspace.headers, "Idempotency-Key": f"create-{tag}"},
    )
    assert created.status_code == 201, created.text
    person = created.json()
    agent = await make_member(client, workspace, role="agent")
    headers = workspace.headers
    ticket = (
        await client.post(
            "/v1/tickets",
            json={"subject": f"{first} cannot log in", "requester_id": person["id"]},
            headers=headers,
        )
    ).json()
    for body in (
        {"body": f"Hi {first}, looking into it.", "author_member_id": agent["id"]},
        {"body": f"{last} called twice", "visibility": "internal", "author_member_id": agent["id"]},
        {"body": f"Thanks, {first} {last}"},
    ):
        assert (
            await client.post(f"/v1/tickets/{ticket['id']}/messages", json=body, headers=headers)
        ).status_code == 201
    interaction = await client.post(
        "/v1/interactions",
        json={
            "kind": "email",
            "direction": "inbound",
            "contact_id": person["id"],
            "subject": f"From {email}",
            "body": f"This is awful, regards {first}",
            "occurred_at": "2026-11-01T10:00:00Z",
        },
        headers=headers,
    )
    assert interaction.status_code == 201
    task = await client.post(
        "/v1/tasks", json={"title": f"Call {first}", "contact_id": person["id"]}, headers=headers
    )
    assert task.status_code == 201, task.text
    product = await make_product(client, workspace)
    order = await client.post(
        "/v1/orders",
        json={
            "contact_id": person["id"],
            "status": "paid",
            "placed_at": "2026-11-02T10:00:00Z",
            "note": f"Gift for {first}",
            "lines": [{"product_id": product["id"], "quantity": 3}],
        },
        headers=headers,
    )
    assert order.status_code == 201
    nps = await client.post(
        "/v1/survey-responses",
        json={
            "kind": "nps",
            "contact_id": person["id"],
            "score": 9,
            "comment": f"{first} loves it",
            "responded_at": "2026-11-03T10:00:00Z",
        },
        headers=headers,
    )
    assert nps.status_code == 201
    await _consent(
        client,
        workspace,
        person["id"],
        purpose="marketing_email",
        granted=True,
        proof=f"{email} ticked the box",
    )
    pipeline = await make_pipeline(client, workspace)
    deal = await client.post(
        "/v1/deals",
        json={
            "name": f"Renewal for {first} {last}",
            "pipeline_id": pipeline["id"],
            "contacts": [{"contact_id": person["id"], "role": "champion"}],
        },
        headers=headers,
    )
    assert deal.status_code == 201, deal.text
    # A duplicate of the person, merged in: its snapshot is kept in the merge record.
    duplicate_email = f"zeb.{tag}@example.org"
    duplicate_phone = f"+44 161 {int(tag, 16) % 10**7:07d}"
    duplicate = await client.post(
        "/v1/contacts",
        json={
            "first_name": first,
            "last_name": last,
            "email": duplicate_email,
            "phones": [{"number": duplicate_phone}],
        },
        headers=headers,
    )
    assert duplicate.status_code == 201, duplicate.text
    merged = await client.post(
        f"/v1/contacts/{person['id']}/merge",
        json={"source_id": duplicate.json()["id"]},
        headers=headers,
    )
    assert merged.status_code == 200, merged.text
    await invite(client, workspace, person["id"])
    token = await latest_token(connection, email)
    assert (
        await client.post("/v1/portal/invitations/accept", json={"token": token})
    ).status_code == 200
    personal = [first, last, email, phone, street, f"Chief {tag}", f"Zeb{tag}", duplicate_email]
    personal.append(duplicate_phone)
    assert "contacts.email" in await _everywhere(connection, email)

    export = await client.get(f"/v1/contacts/{person['id']}/data-export", headers=headers)
    assert export.status_code == 200
    exported = export.json()
    assert exported["contact"]["custom_fields"] == {"nickname": f"Zeb{tag}"}
    assert [m["visibility"] for m in exported["tickets"][0]["messages"]] == [
        "public",
        "internal",
        "public",
    ]
    assert exported["deals"] == [
        {"id": deal.json()["id"], "name": f"Renewal for {first} {last}", "role": "champion"}
    ]
    assert [t["title"] for t in exported["tasks"]] == [f"Call {first}"]
    assert exported["portal_account"]["status"] == "active"

    kpis = "start=2026-11-01T00:00:00Z&end=2026-11-05T00:00:00Z"
    before = [
        (await client.get(f"/v1/kpis/{path}?{kpis}{extra}", headers=headers)).json()["value"]
        for path, extra in (
            ("customers/average-order-value", "&currency=EUR"),
            ("service/nps", ""),
            ("service/negative-sentiment-share", ""),
        )
    ]

    erased = await client.post(f"/v1/contacts/{person['id']}/erase", headers=headers)
    assert erased.status_code == 200, erased.text
    assert erased.json()["records"]["tickets"] == 1
    for value in personal:
        assert await _everywhere(connection, value) == [], value

    after = [
        (await client.get(f"/v1/kpis/{path}?{kpis}{extra}", headers=headers)).json()["value"]
        for path, extra in (
            ("customers/average-order-value", "&currency=EUR"),
            ("service/nps", ""),
            ("service/negative-sentiment-share", ""),
        )
    ]
    assert after == before
    assert before[0] == "300.00"
    log = await client.get(f"/v1/audit-log?record_id={person['id']}", headers=headers)
    assert log.json()["data"][0]["action"] == "contact.erased"
    assert log.json()["data"][0]["changes"] == {}

    again = await client.post("/v1/contacts", json={"email": email.upper()}, headers=headers)
    assert_problem(again, 409)
    batch = await client.post(
        "/v1/contacts/batch",
        json={"operation": "upsert", "items": [{"email": email}]},
        headers=headers,
    )
    assert batch.json()["results"][0]["status"] == 409
    forced = await client.post(
        "/v1/contacts", json={"email": email, "reimport_erased": True}, headers=headers
    )
    assert forced.status_code == 201, forced.text
