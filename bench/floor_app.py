"""The floor: the least a JSON read or write over PostgreSQL costs in Python here.

Starlette, an asyncpg pool and orjson, answering the same get-by-id and keyset list queries as
crm-api, and writing the same rows for a create and a PATCH with If-Match (the contact, its
event, its audit entry and, on create, its lifecycle history, in one transaction; the database's
own triggers add the webhook deliveries as they do for crm-api), with no ORM, no validation, no
auth and no middleware. Run it under the same uvicorn
settings as the service: `uvicorn bench.floor_app:app`. BENCH_DATABASE_URL and BENCH_WORKSPACE_ID
say where the seeded data is.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
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
INSERT_CONTACT = (
    "INSERT INTO contacts (workspace_id, id, first_name, last_name, email, additional_emails, "
    "phones, phones_e164, lifecycle_stage, tags, custom_fields, lead_score, created_at, "
    "updated_at, version) VALUES ($1, $2, $3, $4, $5, '{}', '[]', '{}', $6, $7, '{}', 0, $8, $8, "
    f"1) RETURNING {COLUMNS}"
)
UPDATE_CONTACT = (
    "UPDATE contacts SET job_title = $4, updated_at = $5, version = version + 1 "
    f"WHERE workspace_id = $1 AND id = $2 AND version = $3 RETURNING {COLUMNS}"
)
INSERT_EVENT = (
    "INSERT INTO events (workspace_id, id, type, resource_type, resource_id, occurred_at, data, "
    "actor_type) VALUES ($1, $2, $3, 'contact', $4, $5, $6, 'api_key')"
)
INSERT_AUDIT = (
    "INSERT INTO audit_log (workspace_id, id, occurred_at, actor_type, action, record_type, "
    "record_id, changes) VALUES ($1, $2, $3, 'api_key', $4, 'contact', $5, $6)"
)
INSERT_STAGE = (
    "INSERT INTO contact_lifecycle_changes (workspace_id, id, contact_id, to_stage, changed_at, "
    "actor_type) VALUES ($1, $2, $3, $4, $5, 'api_key')"
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


async def create_contact(request: Request) -> Response:
    body = orjson.loads(await request.body())
    now = datetime.now(UTC)
    async with pool.acquire() as connection, connection.transaction():
        row = dict(
            await connection.fetchrow(
                INSERT_CONTACT,
                WORKSPACE,
                uuid.uuid4(),
                body["first_name"],
                body["last_name"],
                body["email"],
                body["lifecycle_stage"],
                body["tags"],
                now,
            )
        )
        stage = (WORKSPACE, uuid.uuid4(), row["id"], row["lifecycle_stage"], now)
        await connection.execute(INSERT_STAGE, *stage)
        changes = {key: [None, value] for key, value in body.items()}
        await connection.execute(
            INSERT_AUDIT, WORKSPACE, uuid.uuid4(), now, "contact.created", row["id"], changes
        )
        data = orjson.loads(orjson.dumps(row, default=str))
        await connection.execute(
            INSERT_EVENT, WORKSPACE, uuid.uuid4(), "contact.created", row["id"], now, data
        )
    return _json(row, 201)


async def update_contact(request: Request) -> Response:
    body = orjson.loads(await request.body())
    version = int(request.headers["if-match"].strip('"'))
    contact_id = uuid.UUID(request.path_params["contact_id"])
    now = datetime.now(UTC)
    async with pool.acquire() as connection, connection.transaction():
        found = await connection.fetchrow(
            UPDATE_CONTACT, WORKSPACE, contact_id, version, body["job_title"], now
        )
        if found is None:
            return _json({"status": 412}, 412)
        row = dict(found)
        changes = {"job_title": [None, body["job_title"]]}
        await connection.execute(
            INSERT_AUDIT, WORKSPACE, uuid.uuid4(), now, "contact.updated", contact_id, changes
        )
        data = orjson.loads(orjson.dumps(row, default=str))
        await connection.execute(
            INSERT_EVENT, WORKSPACE, uuid.uuid4(), "contact.updated", contact_id, now, data
        )
    return _json(row)


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
        Route("/v1/contacts", create_contact, methods=["POST"]),
        Route("/v1/contacts/{contact_id}", get_contact),
        Route("/v1/contacts/{contact_id}", update_contact, methods=["PATCH"]),
    ],
    lifespan=lifespan,
)
