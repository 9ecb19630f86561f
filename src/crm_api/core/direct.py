"""Reads by id answered below FastAPI's per-request machinery.

A read by id is the API's most frequent call, and on it FastAPI's route matching, dependency
solving and the request's ORM session cost several times the query (docs/benchmarks.md).
``DirectReads`` answers the reads registered with it straight from ASGI, with the same API key
check, scope, rate limit, workspace scoping, query, schema and problem documents as the FastAPI
operation. That operation stays registered: the OpenAPI document describes it, and it answers
whatever this layer passes on (other methods, paths that are not a registered read of one id).
"""

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from pydantic import BaseModel
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_api.core.auth import Principal, StoredKey, principal_from
from crm_api.core.auth import Scope as ApiScope
from crm_api.core.concurrency import etag, not_modified
from crm_api.core.db import PreparedQuery
from crm_api.core.error_handlers import problem_body, unexpected_error
from crm_api.core.errors import PROBLEM_MEDIA_TYPE, CRMError, NotFound

# Starlette's `uuid` path convertor: a path it would not match is left to FastAPI (a 404).
_UUID = re.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_JSON = (b"content-type", b"application/json")
_PROBLEM = (b"content-type", PROBLEM_MEDIA_TYPE.encode())
_AUTHORIZATION = b"authorization"


def _header(scope: Scope, name: bytes) -> str | None:
    return next((value.decode("latin-1") for key, value in scope["headers"] if key == name), None)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode("latin-1")) for name, value in headers.items()]


@dataclass(frozen=True, slots=True)
class ReadById:
    """``GET {collection}/{id}``: one row by ``workspace_id`` and ``id``, served as ``build``
    makes it into the operation's response model, with its version as ETag; "No {noun} {id}."
    when the workspace has no such row."""

    collection: str
    scope: ApiScope
    query: PreparedQuery
    build: Callable[[dict[str, Any]], BaseModel]
    noun: str


class DirectReads:
    def __init__(self, app: ASGIApp, reads: Sequence[ReadById]) -> None:
        self.app = app
        self.reads = {read.collection: read for read in reads}
        # The FastAPI route each read stands for, found once: metrics label requests by it.
        self.routes: dict[str, BaseRoute] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            collection, _, record_id = scope["path"].rpartition("/")
            read = self.reads.get(collection)
            if read is not None and _UUID.fullmatch(record_id):
                await self._serve(read, uuid.UUID(record_id), scope, send)
                return
        await self.app(scope, receive, send)

    def _route(self, read: ReadById, scope: Scope) -> BaseRoute | None:
        route = self.routes.get(read.collection)
        if route is None:
            for candidate in scope["app"].router.routes:
                if candidate.matches(scope)[0] is Match.FULL:
                    route = self.routes[read.collection] = candidate
                    break
        return route

    async def _serve(self, read: ReadById, record_id: uuid.UUID, scope: Scope, send: Send) -> None:
        app = scope["app"]
        scope["route"] = self._route(read, scope)
        quota = None
        try:
            authorization = _header(scope, _AUTHORIZATION) or ""
            principal = await principal_from(authorization, app, partial(_load_key, app))
            quota = principal.quota
            body, etag_value = await self._read(app, read, record_id, principal)
            status, headers = 200, [_JSON, (b"etag", etag_value.encode())]
            if not_modified(_header(scope, b"if-none-match"), etag_value):
                status, body, headers = 304, b"", [(b"etag", etag_value.encode())]
        except Exception as exc:
            error = exc if isinstance(exc, CRMError) else unexpected_error(exc)
            status, body = error.status, problem_body(error, scope["path"])
            headers = [_PROBLEM, *_encoded(error.headers)]
        if quota is not None:
            headers += _encoded(quota.headers())
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _read(
        self, app: Any, read: ReadById, record_id: uuid.UUID, principal: Principal
    ) -> tuple[bytes, str]:
        principal.require(read.scope)
        async with app.state.direct_pool.connection() as connection:
            row = await read.query.fetchrow_on(
                connection, workspace_id=principal.workspace_id, id=record_id
            )
        if row is None:
            raise NotFound(f"No {read.noun} {record_id}.")
        # As FastAPI serializes a response model: built and validated, then dumped by alias.
        body = read.build(dict(row)).model_dump_json(by_alias=True)
        return body.encode(), etag(row["version"])


async def _load_key(app: Any, workspace_id: uuid.UUID, key_id: uuid.UUID) -> StoredKey | None:
    """A key the cache lacks, read in a session of its own (once per key per cache lifetime)."""
    from crm_api.api_keys.repository import load_stored_key

    async with app.state.sessionmaker() as session:
        return await load_stored_key(session, workspace_id, key_id)
