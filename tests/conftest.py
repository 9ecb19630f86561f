"""Test database and app.

The suite runs on CRM_TEST_DATABASE_URL when it is set, and on an embedded PostgreSQL otherwise.
Either way it creates a fresh database, builds it with ``alembic upgrade head`` and drops it at
the end. Each test runs inside an outer transaction that is rolled back; the app's sessions join
it through savepoints, so a request's commit or rollback behaves as in production.
"""

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from crm_api.app import create_app
from crm_api.core.config import Settings
from crm_api.core.db import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    libpq_url,
)
from crm_api.core.embedded import drop_database, ensure_database, start_embedded_postgres
from crm_api.core.migrations import upgrade_to_head
from tests.factories import Workspace, new_workspace

# A throw-away server need not survive a crash: without flushes to disk the suite's commits are
# not slowed by the disk, and the parallel workers (pytest-xdist) do not queue on it.
_THROW_AWAY = ("fsync", "synchronous_commit", "full_page_writes")


@pytest.fixture(scope="session")
def database_server() -> Iterator[str]:
    """The admin URL of the server the tests run on (one per pytest-xdist worker when embedded)."""
    configured = os.environ.get("CRM_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    root = Path(tempfile.mkdtemp(prefix="crm-api-tests-"))
    server, admin_url = start_embedded_postgres(root / "postgres", cleanup_mode="delete")
    asyncio.run(_throw_away(admin_url))
    yield admin_url
    server.cleanup()


async def _throw_away(admin_url: str) -> None:
    connection = await asyncpg.connect(libpq_url(admin_url))
    try:
        for setting in _THROW_AWAY:
            await connection.execute(f"ALTER SYSTEM SET {setting} = off")
        await connection.execute("SELECT pg_reload_conf()")
    finally:
        await connection.close()


async def fresh_database(admin_url: str, *, durable: bool = False) -> tuple[str, URL]:
    """A new database for this process. Unless ``durable`` (a test that crashes the server and
    counts what survived), its commits do not wait for the disk, on any server."""
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    url = await ensure_database(admin_url, name)
    if durable:
        return name, url
    connection = await asyncpg.connect(libpq_url(admin_url))
    try:
        await connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await connection.close()
    return name, url


@pytest_asyncio.fixture(scope="session")
async def database_url(database_server: str) -> AsyncIterator[URL]:
    name, url = await fresh_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await drop_database(database_server, name)


@pytest.fixture(scope="session")
def settings(database_url: URL) -> Settings:
    return Settings(database_url=database_url.render_as_string(hide_password=False))


@pytest_asyncio.fixture(scope="session")
async def engine(database_url: URL, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, settings)
    yield engine
    await engine.dispose()


def make_app(engine: AsyncEngine, settings: Settings) -> FastAPI:
    app = create_app(settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.read_sessionmaker = create_read_sessionmaker(engine)
    return app


@pytest.fixture(scope="session")
def app(engine: AsyncEngine, settings: Settings) -> FastAPI:
    return make_app(engine, settings)


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


def bind_to_test_connection(app: FastAPI, connection: AsyncConnection) -> None:
    """The app's sessions, reads' included, use the test's connection (inside its transaction)."""
    app.state.sessionmaker = app.state.read_sessionmaker = async_sessionmaker(
        bind=connection,
        expire_on_commit=False,
        autoflush=False,
        join_transaction_mode="create_savepoint",
    )


@pytest_asyncio.fixture
async def client(app: FastAPI, connection: AsyncConnection) -> AsyncIterator[AsyncClient]:
    bind_to_test_connection(app, connection)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture
async def workspace(app: FastAPI, client: AsyncClient) -> Workspace:
    return await new_workspace(app, "Acme")


@pytest_asyncio.fixture
async def other_workspace(app: FastAPI, client: AsyncClient) -> Workspace:
    return await new_workspace(app, "Globex")


@pytest.fixture
def committing_app(engine: AsyncEngine, settings: Settings) -> FastAPI:
    """An app whose requests really commit, for tests of concurrent requests.

    Its data stays in the throw-away test database, in workspaces of its own.
    """
    return make_app(engine, settings)


@pytest_asyncio.fixture
async def committing_client(committing_app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=committing_app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
