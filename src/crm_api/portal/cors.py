"""CORS for the portal API: Starlette's CORS middleware, answering for `/v1/portal/...` only
and for the origins workspaces list in `portal_origins`.

The origins are read from the database at most every `TTL` seconds per process; a workspace
change clears this process's copy at once (`forget`).
"""

import time

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_api.models import Workspace

TTL = 10.0
PREFIX = "/v1/portal/"


class PortalOrigins:
    def __init__(self) -> None:
        self.allowed: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    def forget(self) -> None:
        self._loaded_at = float("-inf")

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() - self._loaded_at < TTL:
            return
        async with sessionmaker() as session:
            rows = await session.scalars(select(func.unnest(Workspace.portal_origins)).distinct())
            self.allowed = frozenset(rows)
        self._loaded_at = time.monotonic()


portal_origins = PortalOrigins()


class PortalCORSMiddleware(CORSMiddleware):
    def __init__(self, app: ASGIApp) -> None:
        super().__init__(
            app,
            allow_origins=(),
            allow_methods=("GET", "POST", "PATCH", "DELETE"),
            allow_headers=(
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "If-Match",
                "If-None-Match",
            ),
            expose_headers=(
                "ETag",
                "Location",
                "Retry-After",
                "X-Request-ID",
                "RateLimit",
                "RateLimit-Policy",
            ),
            max_age=600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        sessionmaker = getattr(scope["app"].state, "sessionmaker", None)
        if sessionmaker is not None:
            await portal_origins.refresh(sessionmaker)
        await super().__call__(scope, receive, send)

    def is_allowed_origin(self, origin: str) -> bool:
        return origin in portal_origins.allowed
