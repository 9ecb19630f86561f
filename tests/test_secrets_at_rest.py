"""Secrets shown once stay where they are put on purpose, and nowhere else.

Every kind of secret the service hands out (API keys, webhook signing secrets, portal invitation
and magic-link tokens, access and refresh tokens) is made here, through the API, with
Idempotency-Keys; then every column of every table, and everything logged meanwhile, is searched
for each of them. The only column allowed to hold one is the column meant for it: a webhook
endpoint's signing secrets (it signs with them). Tokens and keys are kept as hashes only.
"""

import logging
import mailbox
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.config import Settings
from crm_api.emails.outbox import send_due
from tests.factories import Workspace, bearer
from tests.portal.conftest import PASSWORD, latest_token, sign_up
from tests.problems import assert_problem

# (table, column) meant to hold a secret in the clear.
MEANT_FOR_SECRETS = {("webhook_endpoints", "secret"), ("webhook_endpoints", "previous_secret")}


async def _columns(connection: AsyncConnection) -> list[tuple[str, str, str]]:
    rows = await connection.execute(
        text(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
    )
    return [(table, column, data_type) for table, column, data_type in rows]


async def places_holding(connection: AsyncConnection, value: str) -> set[tuple[str, str]]:
    """Every (table, column) with a row whose value contains ``value``."""
    found = set()
    for table, column, data_type in await _columns(connection):
        if data_type == "bytea":
            condition = f"position(convert_to(:value, 'UTF8') in \"{column}\") > 0"
        else:
            condition = f'strpos("{column}"::text, :value) > 0'
        statement = text(f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE {condition})')  # noqa: S608
        if await connection.scalar(statement, {"value": value}):
            found.add((table, column))
    return found


async def _created(client: AsyncClient, path: str, headers: dict[str, str], body: Any) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_no_secret_is_kept_outside_its_own_column(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = workspace.headers
    secrets: dict[str, str] = {"first admin key": workspace.admin_key}

    body = {"name": "Partner sync", "scopes": ["admin"]}
    once = {**admin, "Idempotency-Key": "new-key-1"}
    key = await _created(client, "/v1/api-keys", once, body)
    secrets["api key"] = key["secret"]
    # Its replay does not show the secret again, and says why.
    replay = await client.post("/v1/api-keys", json=body, headers=once)
    assert_problem(replay, 409)
    assert key["id"] in replay.json()["detail"]

    hook = {"url": "https://partner.example/hooks", "event_types": ["*"]}
    endpoint = await _created(
        client, "/v1/webhook-endpoints", {**admin, "Idempotency-Key": "hook-1"}, hook
    )
    secrets["webhook secret"] = endpoint["secret"]
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        headers={**admin, "Idempotency-Key": "rotate-1"},
    )
    assert rotated.status_code in {200, 201}, rotated.text
    secrets["rotated webhook secret"] = rotated.json()["secret"]

    customer = await sign_up(client, connection, workspace, email="portal@example.com")
    secrets["access token"] = customer.access_token
    secrets["refresh token"] = customer.refresh_token
    secrets["password"] = PASSWORD
    asked = await client.post(
        "/v1/portal/magic-links",
        json={"workspace_id": str(workspace.id), "email": customer.email},
    )
    assert asked.status_code in {202, 204}, asked.text
    secrets["magic link"] = await latest_token(connection, customer.email)
    redeemed = await client.post(
        "/v1/portal/magic-links/redeem", json={"token": secrets["magic link"]}
    )
    assert redeemed.status_code == 200, redeemed.text
    refreshed = await client.post(
        "/v1/portal/tokens/refresh", json={"refresh_token": redeemed.json()["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    secrets["refreshed access token"] = refreshed.json()["access_token"]
    secrets["refreshed refresh token"] = refreshed.json()["refresh_token"]

    # The keys work: what is searched for below is real.
    assert (await client.get("/v1/contacts", headers=bearer(secrets["api key"]))).status_code == 200

    # The outbox sends (to a local mailbox, as in development): bodies with links are blanked.
    sessionmaker = client._transport.app.state.sessionmaker  # type: ignore[attr-defined]
    while await send_due(sessionmaker, settings.model_copy(update={"data_dir": tmp_path})):
        pass
    delivered = [
        message.get_payload(decode=True).decode()
        for message in mailbox.mbox(tmp_path / "mail.mbox")
    ]
    assert any(secrets["magic link"] in body for body in delivered)

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged, "nothing was logged: the log search below would prove nothing"
    for name, secret in secrets.items():
        assert len(secret) >= 16, name
        held = await places_holding(connection, secret) - MEANT_FOR_SECRETS
        assert not held, f"the {name} is stored in {sorted(held)}"
        assert secret not in logged, f"the {name} was logged"
    assert await places_holding(connection, secrets["webhook secret"]) == {
        ("webhook_endpoints", "previous_secret")
    }


async def test_api_key_events_carry_no_secret(client: AsyncClient, workspace: Workspace) -> None:
    key = await _created(
        client, "/v1/api-keys", workspace.headers, {"name": "Admin 2", "scopes": ["admin"]}
    )
    reader = await _created(
        client, "/v1/api-keys", workspace.headers, {"name": "Events", "scopes": ["events:read"]}
    )
    events = await client.get(
        "/v1/events", params={"type": "api_key.created"}, headers=bearer(reader["secret"])
    )
    assert events.status_code == 200
    created = [event for event in events.json()["data"] if event["resource_id"] == key["id"]]
    assert len(created) == 1
    assert "secret" not in created[0]["data"]
    assert key["secret"] not in events.text
    exported = await client.get("/v1/events/export", headers=bearer(reader["secret"]))
    assert exported.status_code == 200
    assert key["id"] in exported.text
    assert key["secret"] not in exported.text


async def test_a_replay_passes_the_scope_check_and_belongs_to_its_caller(
    client: AsyncClient, workspace: Workspace
) -> None:
    body = {"first_name": "Ada"}
    reader = await _created(
        client, "/v1/api-keys", workspace.headers, {"name": "R", "scopes": ["contacts:read"]}
    )
    writer = await _created(
        client, "/v1/api-keys", workspace.headers, {"name": "W", "scopes": ["contacts:write"]}
    )
    first = await client.post(
        "/v1/contacts", json=body, headers={**workspace.headers, "Idempotency-Key": "same"}
    )
    assert first.status_code == 201
    # A key without the scope gets the 403 a fresh request gets, not the stored 201.
    denied = await client.post(
        "/v1/contacts", json=body, headers={**bearer(reader["secret"]), "Idempotency-Key": "same"}
    )
    assert_problem(denied, 403)
    # Another key with the scope has keys of its own: its request runs, it is not a replay.
    other = await client.post(
        "/v1/contacts", json=body, headers={**bearer(writer["secret"]), "Idempotency-Key": "same"}
    )
    assert other.status_code == 201
    assert "idempotent-replayed" not in other.headers
    assert other.json()["id"] != first.json()["id"]
    # The same key again is a replay.
    again = await client.post(
        "/v1/contacts", json=body, headers={**workspace.headers, "Idempotency-Key": "same"}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
