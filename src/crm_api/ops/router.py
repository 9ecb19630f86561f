"""Liveness, readiness and Prometheus metrics: outside /v1, no credentials."""

import asyncio

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from crm_api.core.errors import ServiceUnavailable, problem_responses

router = APIRouter(tags=["Operations"])


class Health(BaseModel):
    status: str


@router.get("/healthz", summary="Is the process alive")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Is the database reachable",
    responses={503: {**problem_responses(422)[422], "description": "The database is unreachable"}},
)
async def readyz(request: Request) -> Health:
    try:
        async with asyncio.timeout(2):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise ServiceUnavailable(f"The database is unreachable: {type(exc).__name__}.") from exc
    return Health(status="ready")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
