"""Liveness, readiness and Prometheus metrics: outside /v1, no credentials."""

import asyncio

import asyncpg
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from crm_api.core.db import libpq_url
from crm_api.core.errors import ServiceUnavailable, problem_responses
from crm_api.core.routing import operation_id

router = APIRouter(tags=["Operations"], generate_unique_id_function=operation_id)


class Health(BaseModel):
    status: str


@router.get(
    "/healthz",
    summary="Is the process alive",
    description="200 while the process serves requests, without touching the database: for "
    "liveness probes (`crm-api healthcheck` and the Docker image's HEALTHCHECK call it).",
)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Is the database reachable",
    responses={503: {**problem_responses(422)[422], "description": "The database is unreachable"}},
)
async def readyz(request: Request) -> Health:
    """A connection of its own, not one of the request pool's: when every pool connection is
    busy serving requests, the process is busy, not unready, and must not be taken out of
    rotation for it."""
    settings = request.app.state.settings
    try:
        async with asyncio.timeout(settings.db_connect_timeout_seconds + 5):
            connection = await asyncpg.connect(
                libpq_url(request.app.state.engine.url),
                timeout=settings.db_connect_timeout_seconds,
            )
            try:
                await connection.fetchval("SELECT 1")
            finally:
                await connection.close()
    except Exception as exc:
        raise ServiceUnavailable(f"The database is unreachable: {type(exc).__name__}.") from exc
    return Health(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Request counts and latencies by method, route and status, in "
    "Prometheus' text format; no authentication, so keep it off the public network.",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
