"""API keys: the secret is shown once and stored only as a hash; scopes; revocation."""

import hashlib

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.models import ApiKey
from tests.factories import Workspace, bearer, make_api_key
from tests.problems import assert_problem


async def test_the_secret_is_shown_once_and_stored_hashed(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"name": "Website", "scopes": ["contacts:read", "contacts:write"]},
        headers=workspace.headers,
    )
    assert response.status_code == 201
    created = response.json()
    secret = created["secret"]
    assert secret.startswith("crm_")
    assert created["secret_hint"] == secret[-4:]
    fetched = await client.get(response.headers["location"], headers=workspace.headers)
    assert "secret" not in fetched.json()
    listed = await client.get("/v1/api-keys", headers=workspace.headers)
    assert secret not in listed.text
    stored_hash = await connection.scalar(
        select(ApiKey.secret_hash).where(ApiKey.id == created["id"])
    )
    assert stored_hash == hashlib.sha256(secret.encode()).digest()
    assert (await client.get("/v1/contacts", headers=bearer(secret))).status_code == 200


async def test_scopes_limit_what_a_key_does(client: AsyncClient, workspace: Workspace) -> None:
    companies_only = await make_api_key(client, workspace, "companies:read")
    assert (await client.get("/v1/companies", headers=bearer(companies_only))).status_code == 200
    problem = assert_problem(await client.get("/v1/contacts", headers=bearer(companies_only)), 403)
    assert problem["missing_scope"] == "contacts:read"
    problem = assert_problem(await client.get("/v1/api-keys", headers=bearer(companies_only)), 403)
    assert problem["missing_scope"] == "admin"


async def test_unknown_scope_is_422(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/api-keys", json={"name": "x", "scopes": ["everything"]}, headers=workspace.headers
    )
    assert_problem(response, 422, field="scopes")


async def test_a_revoked_key_stops_working_at_once(
    client: AsyncClient, workspace: Workspace
) -> None:
    secret = await make_api_key(client, workspace, "contacts:read")
    assert (await client.get("/v1/contacts", headers=bearer(secret))).status_code == 200
    keys = (await client.get("/v1/api-keys?revoked=false", headers=workspace.headers)).json()
    key_id = next(k["id"] for k in keys["data"] if k["secret_hint"] == secret[-4:])
    assert (
        await client.delete(f"/v1/api-keys/{key_id}", headers=workspace.headers)
    ).status_code == 204
    assert_problem(await client.get("/v1/contacts", headers=bearer(secret)), 401)
    revoked = (await client.get("/v1/api-keys?revoked=true", headers=workspace.headers)).json()
    assert [k["id"] for k in revoked["data"]] == [key_id]


async def test_an_expired_key_is_401(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/api-keys",
        json={"name": "old", "scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"},
        headers=workspace.headers,
    )
    assert_problem(await client.get("/v1/contacts", headers=bearer(response.json()["secret"])), 401)


async def test_workspace_endpoint_shows_the_callers_workspace(
    client: AsyncClient, workspace: Workspace
) -> None:
    response = await client.get("/v1/workspace", headers=workspace.headers)
    assert response.json()["id"] == str(workspace.id)
    assert response.json()["name"] == "Acme"
