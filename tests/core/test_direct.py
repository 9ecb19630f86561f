"""Direct reads (core/direct.py) answer exactly as the FastAPI operations they stand for."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_api.companies import service as companies_service
from crm_api.contacts import service as contacts_service
from crm_api.core.config import Settings
from crm_api.deals import service as deals_service
from tests.conftest import bind_to_test_connection, make_app
from tests.factories import Workspace, make_company, make_contact, make_deal, new_workspace
from tests.problems import assert_problem


@pytest_asyncio.fixture
async def through_fastapi(
    engine: AsyncEngine, settings: Settings, connection: AsyncConnection
) -> AsyncIterator[AsyncClient]:
    """The same app with the direct reads off, on the same test transaction."""
    app = make_app(engine, settings.model_copy(update={"direct_reads": False}))
    bind_to_test_connection(app, connection)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def _key(client: AsyncClient, workspace: Workspace, *scopes: str) -> dict[str, str]:
    response = await client.post(
        "/v1/api-keys", json={"name": "narrow", "scopes": list(scopes)}, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['secret']}"}


def _same(direct: Response, plain: Response) -> None:
    assert direct.status_code == plain.status_code
    assert direct.content == plain.content
    for header in ("content-type", "etag", "www-authenticate", "retry-after"):
        assert direct.headers.get(header) == plain.headers.get(header), header


async def _records(
    collection: str, client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A record with every kind of field set, another workspace's, and a key of other scopes."""
    if collection == "contacts":
        mine = await make_contact(
            client,
            workspace,
            email="ada@example.com",
            phones=[{"label": "work", "number": "+44 20 7946 0958"}],
            address={"city": "London", "country": "GB"},
            tags=["vip"],
        )
        return mine, await make_contact(client, other_workspace), "companies:read"
    if collection == "deals":
        first, second = await make_contact(client, workspace), await make_contact(client, workspace)
        company = await make_company(client, workspace)
        mine = await make_deal(
            client,
            workspace,
            company_id=company["id"],
            contacts=[
                {"contact_id": second["id"], "role": "champion"},
                {"contact_id": first["id"]},
            ],
            expected_close_date="2026-12-31",
            source="referral",
            tags=["q4"],
        )
        return mine, await make_deal(client, other_workspace), "contacts:read"
    mine = await make_company(
        client,
        workspace,
        domain="acme.example",
        industry="software",
        employee_count=250,
        annual_revenue={"amount": "1250000.50", "currency": "EUR"},
        address={"city": "Leeds", "country": "GB"},
        tags=["key-account"],
    )
    return mine, await make_company(client, other_workspace), "contacts:read"


@pytest.mark.parametrize("collection", ["contacts", "companies", "deals"])
async def test_every_answer_is_the_fastapi_operations(
    collection: str,
    client: AsyncClient,
    through_fastapi: AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
) -> None:
    record, theirs, other_scope = await _records(collection, client, workspace, other_workspace)
    other_scope_only = await _key(client, workspace, other_scope)
    revoked_id = uuid.UUID(int=7)
    url = f"/v1/{collection}/{record['id']}"
    cases = [
        (url, workspace.headers, 200),
        (f"/v1/{collection}/{theirs['id']}", workspace.headers, 404),  # another workspace's
        (f"/v1/{collection}/{uuid.uuid4()}", workspace.headers, 404),
        (url, {}, 401),
        (url, {"Authorization": "Bearer crm_nonsense"}, 401),
        (
            url,
            {"Authorization": f"Bearer crm_{workspace.id.hex}{revoked_id.hex}{'x' * 43}"},
            401,
        ),
        (url, other_scope_only, 403),
        (f"/v1/{collection}/{record['id'].upper()}", workspace.headers, 200),
        (f"/v1/{collection}/not-a-uuid", workspace.headers, 404),  # no route: left to FastAPI
    ]
    for path, headers, status in cases:
        direct = await client.get(path, headers=headers)
        plain = await through_fastapi.get(path, headers=headers)
        assert direct.status_code == status, (path, direct.text)
        _same(direct, plain)
    assert (await client.get(url, headers=workspace.headers)).json() == record


async def test_the_read_is_served_below_fastapi(
    client: AsyncClient,
    through_fastapi: AsyncClient,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contact = await make_contact(client, workspace)

    async def unreachable(*_: object) -> None:
        raise AssertionError("the FastAPI operation ran")

    monkeypatch.setattr(contacts_service, "read_contact", unreachable)
    path = f"/v1/contacts/{contact['id']}"
    assert (await client.get(path, headers=workspace.headers)).status_code == 200
    assert (await through_fastapi.get(path, headers=workspace.headers)).status_code == 500

    company = await make_company(client, workspace)
    monkeypatch.setattr(companies_service, "get_company", unreachable)
    path = f"/v1/companies/{company['id']}"
    assert (await client.get(path, headers=workspace.headers)).status_code == 200
    assert (await through_fastapi.get(path, headers=workspace.headers)).status_code == 500

    deal = await make_deal(client, workspace)
    monkeypatch.setattr(deals_service, "get_deal", unreachable)
    path = f"/v1/deals/{deal['id']}"
    assert (await client.get(path, headers=workspace.headers)).status_code == 200
    assert (await through_fastapi.get(path, headers=workspace.headers)).status_code == 500


async def test_request_id_metrics_and_access_log_cover_direct_reads(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    response = await client.get(
        f"/v1/contacts/{contact['id']}", headers={**workspace.headers, "X-Request-ID": "trace-7"}
    )
    assert response.headers["x-request-id"] == "trace-7"
    metrics = (await client.get("/metrics")).text
    assert (
        'crm_http_requests_total{method="GET",route="/v1/contacts/{contact_id:uuid}",status="200"}'
        in metrics
    )


async def test_rate_limit_applies_to_direct_reads(
    engine: AsyncEngine, settings: Settings, connection: AsyncConnection
) -> None:
    app: FastAPI = make_app(engine, settings.model_copy(update={"rate_limit": "2/minute"}))
    bind_to_test_connection(app, connection)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        workspace = await new_workspace(app, "Busy")
        path = f"/v1/contacts/{uuid.uuid4()}"
        for left in (1, 0):
            missing = await client.get(path, headers=workspace.headers)
            assert missing.status_code == 404
            assert missing.headers["ratelimit-policy"] == '"api-key";q=2;w=60'
            assert missing.headers["ratelimit"].startswith(f'"api-key";r={left};t=')
        limited = await client.get(path, headers=workspace.headers)
        assert_problem(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1


async def test_reads_through_the_pool_see_committed_data(
    committing_client: AsyncClient, committing_app: FastAPI
) -> None:
    workspace = await new_workspace(committing_app, "Pooled")
    contact = await make_contact(committing_client, workspace)
    path = f"/v1/contacts/{contact['id']}"
    for _ in range(3):  # the pool opens on first use, then reuses its connections
        response = await committing_client.get(path, headers=workspace.headers)
        assert response.status_code == 200
        assert response.json() == contact
        assert response.headers["etag"] == '"1"'
    other = await new_workspace(committing_app, "Elsewhere")
    assert_problem(await committing_client.get(path, headers=other.headers), 404)
