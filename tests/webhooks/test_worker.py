"""The worker: run in-process by the app (as `crm-api serve` does), and its retention purge."""

import asyncio
import time
from datetime import timedelta

import httpx
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_api.app import create_app
from crm_api.core.config import Settings
from crm_api.models import Event, IdempotencyKey
from crm_api.models.base import utcnow
from crm_api.worker import purge_expired
from tests.factories import Workspace, make_contact
from tests.webhooks.conftest import Receiver


async def test_the_app_runs_a_worker_that_delivers(
    hook_settings: Settings,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    receiver: Receiver,
) -> None:
    response = await hook_client.post(
        "/v1/webhook-endpoints",
        json={"url": receiver.url("live"), "event_types": ["contact.created"]},
        headers=hooked.headers,
    )
    assert response.status_code == 201
    app = create_app(hook_settings.model_copy(update={"worker_poll_seconds": 0.05}))
    async with app.router.lifespan_context(app):
        await make_contact(hook_client, hooked)
        # A deadline, not a count of polls: the worker's start-up is slow on a loaded machine.
        deadline = time.monotonic() + 60
        while not receiver.got("live") and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert len(receiver.got("live")) == 1


async def test_events_past_retention_and_old_idempotency_keys_are_purged(
    hook_app: FastAPI,
    hook_settings: Settings,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    engine: AsyncEngine,
) -> None:
    with time_machine.travel(utcnow() - timedelta(days=31), tick=False):
        old = await make_contact(hook_client, hooked, email="old@example.com")
        response = await hook_client.post(
            "/v1/contacts",
            json={"first_name": "Keyed", "email": "keyed@example.com"},
            headers={**hooked.headers, "Idempotency-Key": "old-key"},
        )
        assert response.status_code == 201
    recent = await make_contact(hook_client, hooked, email="new@example.com")
    async with hook_app.state.sessionmaker() as session:
        stored = await session.scalar(
            select(func.count()).where(IdempotencyKey.workspace_id == hooked.id)
        )
    assert stored == 1  # so that none being left below is the purge's doing
    await purge_expired(hook_app.state.sessionmaker, hook_settings)
    async with hook_app.state.sessionmaker() as session:
        kept = await session.scalars(
            select(Event.resource_id).where(Event.workspace_id == hooked.id)
        )
        resource_ids = {str(resource_id) for resource_id in kept}
        keys = await session.scalar(
            select(func.count()).where(IdempotencyKey.workspace_id == hooked.id)
        )
    assert recent["id"] in resource_ids
    assert old["id"] not in resource_ids
    assert keys == 0
