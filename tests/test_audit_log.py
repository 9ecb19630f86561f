"""The audit log: every recorded change with its actor and the changed fields' old and new
values, filterable, and never a secret."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.auth import parse_token
from tests.factories import Workspace, make_contact, make_webhook_endpoint
from tests.portal.conftest import PASSWORD, sign_up
from tests.problems import assert_problem


async def _log(client: AsyncClient, workspace: Workspace, query: str = "") -> list[Any]:
    response = await client.get(f"/v1/audit-log?limit=100&{query}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


async def test_changes_are_logged_with_old_and_new_values(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace, email="ada@example.com", job_title="Analyst")
    url = f"/v1/contacts/{contact['id']}"
    updated = await client.patch(
        url,
        json={"job_title": "Engineer", "last_name": "Lovelace"},
        headers={**workspace.headers, "If-Match": '"1"'},
    )
    assert updated.status_code == 200
    archived = await client.post(f"{url}/archive", headers={**workspace.headers, "If-Match": '"2"'})
    assert archived.status_code == 200

    entries = await _log(client, workspace, f"record_id={contact['id']}&sort=occurred_at")
    assert [entry["action"] for entry in entries] == [
        "contact.created",
        "contact.updated",
        "contact.archived",
    ]
    key_id = str(parse_token(workspace.admin_key)[1])  # type: ignore[index]
    assert {(entry["actor_type"], entry["actor_id"]) for entry in entries} == {("api_key", key_id)}
    created, changed, gone = (entry["changes"] for entry in entries)
    assert created["email"] == {"old": None, "new": "ada@example.com"}
    assert changed == {
        "job_title": {"old": "Analyst", "new": "Engineer"},
        "last_name": {"old": "Hopper", "new": "Lovelace"},
    }
    assert gone["archived_at"]["old"] is None
    assert gone["archived_at"]["new"] is not None

    by_type = await _log(client, workspace, "record_type=contact")
    assert {entry["record_id"] for entry in by_type} == {contact["id"]}
    by_actor = await _log(client, workspace, f"actor_id={key_id}")
    assert len(by_actor) >= 3
    assert await _log(client, workspace, "occurred_at_lte=2000-01-01T00:00:00Z") == []
    assert_problem(
        await client.get("/v1/audit-log?record_id=nope", headers=workspace.headers),
        422,
        field="record_id",
    )


async def test_secrets_never_reach_the_log(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    endpoint = await make_webhook_endpoint(client, workspace)
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=workspace.headers
    )
    assert rotated.status_code == 200, rotated.text
    customer = await sign_up(client, connection, workspace)
    changed = await client.post(
        "/v1/portal/password",
        json={"current_password": PASSWORD, "new_password": "another long secret"},
        headers=customer.headers,
    )
    assert changed.status_code == 204
    response = await client.get("/v1/audit-log?limit=100", headers=workspace.headers)
    text = response.text
    for secret in (endpoint["secret"], rotated.json()["secret"], PASSWORD, "whsec_"):
        assert secret not in text
    assert customer.access_token not in text
    assert customer.refresh_token not in text
    # The portal user's own changes name them as the actor.
    opened = await client.post(
        "/v1/portal/tickets", json={"subject": "Audit me"}, headers=customer.headers
    )
    entries = await _log(client, workspace, f"record_id={opened.json()['id']}")
    assert [(e["action"], e["actor_type"], e["actor_id"]) for e in entries] == [
        ("ticket.created", "portal_user", customer.user_id)
    ]
