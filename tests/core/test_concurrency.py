"""Concurrent writers: If-Match lets exactly one through; upserts of one email make one contact."""

import asyncio

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_api.models import Company, Contact
from tests.factories import make_contact, new_workspace


async def test_concurrent_patches_with_one_if_match_let_exactly_one_through(
    committing_app: FastAPI, committing_client: AsyncClient
) -> None:
    workspace = await new_workspace(committing_app, "Concurrent patches")
    contact = await make_contact(committing_client, workspace)
    headers = {**workspace.headers, "If-Match": '"1"'}
    responses = await asyncio.gather(
        *(
            committing_client.patch(
                f"/v1/contacts/{contact['id']}", json={"job_title": f"title {n}"}, headers=headers
            )
            for n in range(50)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 49
    final = await committing_client.get(f"/v1/contacts/{contact['id']}", headers=workspace.headers)
    assert final.json()["version"] == 2


async def test_concurrent_upserts_of_one_email_make_one_contact(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> None:
    workspace = await new_workspace(committing_app, "Concurrent upserts")
    responses = await asyncio.gather(
        *(
            committing_client.post(
                "/v1/contacts/upsert",
                json={"email": "Race@Example.com", "job_title": f"title {n}"},
                headers=workspace.headers,
            )
            for n in range(20)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 19 + [201], [r.text for r in responses if r.status_code >= 300]
    assert len({response.json()["id"] for response in responses}) == 1
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace.id)
        )
    assert count == 1


async def test_concurrent_batch_upserts_of_one_domain_make_one_company(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> None:
    """As contacts do: every item succeeds, one creates, the others update it."""
    workspace = await new_workspace(committing_app, "Concurrent company upserts")
    responses = await asyncio.gather(
        *(
            committing_client.post(
                "/v1/companies/batch",
                json={
                    "operation": "upsert",
                    "items": [{"domain": "race.example", "name": f"Race {n}"}],
                },
                headers=workspace.headers,
            )
            for n in range(12)
        )
    )
    assert all(response.status_code == 200 for response in responses), responses[0].text
    results = [response.json() for response in responses]
    assert [result["succeeded"] for result in results] == [1] * 12, results
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(Company).where(Company.workspace_id == workspace.id)
        )
    assert count == 1


async def test_concurrent_deletions_of_webhook_endpoints_all_succeed(
    committing_app: FastAPI, committing_client: AsyncClient
) -> None:
    """Each deletion's event fans out to the workspace's other endpoints: without an order
    between deletions they deadlocked (a 500, then a 503)."""
    workspace = await new_workspace(committing_app, "Concurrent endpoint deletions")
    ids = []
    for number in range(12):
        created = await committing_client.post(
            "/v1/webhook-endpoints",
            json={"url": f"https://partner{number}.example/hooks", "event_types": ["*"]},
            headers=workspace.headers,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])
    responses = await asyncio.gather(
        *(
            committing_client.delete(f"/v1/webhook-endpoints/{endpoint}", headers=workspace.headers)
            for endpoint in ids
        )
    )
    assert [response.status_code for response in responses] == [204] * 12, [
        response.text for response in responses if response.status_code != 204
    ]
