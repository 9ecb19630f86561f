"""A real HTTP receiver on loopback, and an app whose requests commit, for webhook tests.

The receiver answers each request with the next scripted reply for its path (200 when none is
left) and records what it got. Workspaces made here are deleted afterwards, so no delivery of
one test is left for the next one's worker.
"""

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest_asyncio
import uvicorn
from fastapi import FastAPI
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crm_api.core.config import Settings
from crm_api.models import Workspace as WorkspaceRow
from crm_api.webhooks.delivery import deliver_due
from tests.conftest import make_app
from tests.factories import Workspace, new_workspace


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: dict[str, deque[Reply]] = defaultdict(deque)
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def reply(self, path: str, *replies: Reply) -> None:
        self.script[f"/{path}"].extend(replies)

    def got(self, path: str) -> list[Received]:
        return [request for request in self.received if request.path == f"/{path}"]

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        self.received.append(Received(request.url.path, dict(request.headers), body))
        script = self.script[request.url.path]
        reply = script.popleft() if script else Reply()
        await asyncio.sleep(reply.delay)
        return Response("ok" if reply.status < 300 else "nope", reply.status, reply.headers)


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{path:path}", receiver.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn has no event to await
        await asyncio.sleep(0.01)
    receiver.port = server.servers[0].sockets[0].getsockname()[1]
    yield receiver
    server.should_exit = True
    await task


@pytest_asyncio.fixture
async def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allowed_networks": ["127.0.0.0/8"], "webhook_timeout_seconds": 5.0}
    )


@pytest_asyncio.fixture
async def hook_app(engine: AsyncEngine, hook_settings: Settings) -> FastAPI:
    return make_app(engine, hook_settings)


@pytest_asyncio.fixture
async def hook_client(hook_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=hook_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest_asyncio.fixture
async def outbound() -> AsyncIterator[httpx.AsyncClient]:
    """The worker's HTTP client."""
    async with httpx.AsyncClient() as client:
        yield client


Deliver = Callable[[], Awaitable[int]]


@pytest_asyncio.fixture
async def deliver(
    hook_app: FastAPI, hook_settings: Settings, outbound: httpx.AsyncClient
) -> Deliver:
    """One round of the worker's delivery job, as `crm-api worker` runs it."""

    async def run() -> int:
        return await deliver_due(hook_app.state.sessionmaker, hook_settings, outbound)

    return run


@pytest_asyncio.fixture
async def hooked(hook_app: FastAPI) -> AsyncIterator[Workspace]:
    workspace = await new_workspace(hook_app, "Hooks")
    yield workspace
    async with hook_app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(WorkspaceRow).where(WorkspaceRow.id == workspace.id))
