"""The floor: the least a JSON read over PostgreSQL costs in Python here.

Starlette, an asyncpg pool and orjson, answering the same get-by-id and keyset list queries as
crm-api, with no ORM, no validation, no auth and no middleware. Run it under the same uvicorn
settings as the service: `uvicorn bench.floor_app:app`. BENCH_DATABASE_URL and BENCH_WORKSPACE_ID
say where the seeded data is.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

COLUMNS = (
    "id, first_name, last_name, email, additional_emails, phones, job_title, lifecycle_stage, "
    "lead_source, owner_id, company_id, address, tags, custom_fields, created_at, updated_at, "
    "archived_at, version"
)
GET = f"SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 AND id = $2"
FIRST_PAGE = (
    f"SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL "
    "ORDER BY created_at DESC, id DESC LIMIT $2"
)
NEXT_PAGE = (
    f"SELECT {COLUMNS} FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL "
    "AND (created_at, id) < ($3, $4) ORDER BY created_at DESC, id DESC LIMIT $2"
)
WORKSPACE = uuid.UUID(os.environ.get("BENCH_WORKSPACE_ID", "00000000-0000-0000-0000-000000000000"))
pool: asyncpg.Pool


async def _codecs(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


def _json(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, default=str), status_code=status, media_type="application/json"
    )


async def get_contact(request: Request) -> Response:
    row = await pool.fetchrow(GET, WORKSPACE, uuid.UUID(request.path_params["contact_id"]))
    if row is None:
        return _json({"status": 404}, 404)
    return _json(dict(row))


async def list_contacts(request: Request) -> Response:
    limit = int(request.query_params.get("limit", 25))
    after = request.query_params.get("after")
    if after:
        created_at, last_id = after.split("|")
        rows = await pool.fetch(
            NEXT_PAGE, WORKSPACE, limit + 1, datetime.fromisoformat(created_at), uuid.UUID(last_id)
        )
    else:
        rows = await pool.fetch(FIRST_PAGE, WORKSPACE, limit + 1)
    page = [dict(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = f"{page[-1]['created_at'].isoformat()}|{page[-1]['id']}"
    return _json({"data": page, "next_cursor": next_cursor})


@asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"], min_size=4, max_size=20, init=_codecs
    )
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/v1/contacts", list_contacts),
        Route("/v1/contacts/{contact_id}", get_contact),
    ],
    lifespan=lifespan,
)
