"""Idempotency-Key: the first response is replayed; a different request under the key is a 422."""

import asyncio

from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_api.models import Contact
from tests.factories import Workspace, new_workspace
from tests.problems import assert_problem


async def test_a_retried_post_replays_the_first_response(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "signup-1"}
    body = {"email": "once@example.com"}
    first = await client.post("/v1/contacts", json=body, headers=headers)
    again = await client.post("/v1/contacts", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    listed = await client.get("/v1/contacts", headers=workspace.headers)
    assert len(listed.json()["data"]) == 1


async def test_the_same_key_with_another_body_is_422(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "signup-2"}
    await client.post("/v1/contacts", json={"email": "a@example.com"}, headers=headers)
    response = await client.post("/v1/contacts", json={"email": "b@example.com"}, headers=headers)
    assert_problem(response, 422, field="Idempotency-Key")


async def test_keys_belong_to_one_workspace(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    body = {"email": "same@example.com"}
    ours = await client.post(
        "/v1/contacts", json=body, headers={**workspace.headers, "Idempotency-Key": "k"}
    )
    theirs = await client.post(
        "/v1/contacts", json=body, headers={**other_workspace.headers, "Idempotency-Key": "k"}
    )
    assert ours.status_code == theirs.status_code == 201
    assert ours.json()["id"] != theirs.json()["id"]


async def test_a_failed_request_does_not_burn_the_key(
    client: AsyncClient, workspace: Workspace
) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "retry-after-fix"}
    body = {"email": "fixed@example.com", "lifecycle_stage": "nope"}
    assert_problem(await client.post("/v1/contacts", json=body, headers=headers), 422)
    body["lifecycle_stage"] = "lead"
    # A different body under the same key is fine: the failed attempt stored nothing.
    assert (await client.post("/v1/contacts", json=body, headers=headers)).status_code == 201


async def test_an_overlong_key_is_422(client: AsyncClient, workspace: Workspace) -> None:
    headers = {**workspace.headers, "Idempotency-Key": "k" * 256}
    response = await client.post("/v1/contacts", json={"first_name": "A"}, headers=headers)
    assert_problem(response, 422, field="Idempotency-Key")


async def test_concurrent_duplicates_execute_once(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> None:
    workspace = await new_workspace(committing_app, "Concurrent idempotency")
    headers = {**workspace.headers, "Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(
            committing_client.post(
                "/v1/contacts", json={"email": "burst@example.com"}, headers=headers
            )
            for _ in range(20)
        )
    )
    assert {response.status_code for response in responses} == {201}
    assert len({response.json()["id"] for response in responses}) == 1
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace.id)
        )
    assert count == 1
