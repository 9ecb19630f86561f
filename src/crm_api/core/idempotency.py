"""``Idempotency-Key`` on POST: the first response is stored in the same transaction as the change
and replayed for 24 h. A concurrent duplicate blocks on the key's row until the first commits,
then replays its response, so the two never both execute.

Keys belong to the caller that used them (an API key, or a portal customer): another caller's
same key is a different key. A replay is authenticated and passes the operation's scope checks
before anything is looked up, as a fresh request would. A response that shows a secret once (an
API key, a webhook signing secret, a token) is never stored: its replay is a 409 that says so."""

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import orjson
from fastapi import Header, Request, Response
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from crm_api.core.auth import SHOWN_ONCE, PrincipalDep, Scope
from crm_api.core.errors import Conflict, invalid_field
from crm_api.core.session import SessionDep
from crm_api.models import IdempotencyKey

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("location", "etag")


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    workspace_id: uuid.UUID
    key: str


class IdempotentReplay(Exception):
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body

    def to_response(self) -> Response:
        return Response(
            self.body,
            status_code=self.status,
            headers={**self.headers, REPLAYED_HEADER: "true"},
        )


async def _request_hash(request: Request) -> bytes:
    digest = hashlib.sha256(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        digest.update(await request.body())
        return digest.digest()
    # An upload: its body was parsed (and consumed) before this runs, and each attempt has a
    # boundary of its own anyway, so the parts are what identify it.
    for name, value in (await request.form()).multi_items():
        digest.update(f"\n{name}=".encode())
        if isinstance(value, UploadFile):
            digest.update(f"{value.filename}\n".encode())
            digest.update(await value.read())
            await value.seek(0)
        else:
            digest.update(value.encode())
    return digest.digest()


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x20-\x7e]+$",
        description="Makes a retried POST safe: the first response is replayed for 24 h.",
    ),
]


IdempotencyDependency = Callable[..., Awaitable[None]]


def caller_key(caller: str, idempotency_key: str) -> str:
    """The stored key: the caller's own, so no other caller can replay its responses."""
    return f"{caller}:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"


def api_key_claim(scopes: Collection[Scope]) -> IdempotencyDependency:
    """The claim of an operation that an API key with ``scopes`` may call (filled in by
    CRMRoute once the operation's dependencies are known)."""

    async def claim_idempotency_key(
        request: Request,
        principal: PrincipalDep,
        session: SessionDep,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> None:
        if idempotency_key is None:
            return
        for scope in scopes:  # before a stored response can be replayed
            principal.require(scope)
        key = caller_key(f"{principal.actor_type}:{principal.actor_id}", idempotency_key)
        await claim(request, session, principal.workspace_id, key)

    return claim_idempotency_key


async def claim(request: Request, session: AsyncSession, workspace_id: uuid.UUID, key: str) -> None:
    """Claims `key` in the workspace for this request, or replays (raises) the response stored
    for it."""
    request_hash = await _request_hash(request)
    claimed = await _insert_claim(session, workspace_id, key, request_hash)
    if not claimed:
        stored = await session.scalar(
            select(IdempotencyKey)
            .where(IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )
        assert stored is not None  # the conflicting row is committed and never deleted here
        ttl = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)
        if stored.created_at + ttl < datetime.now(UTC):
            await session.delete(stored)
            await session.flush()
            claimed = await _insert_claim(session, workspace_id, key, request_hash)
        else:
            _replay(stored, request_hash)
    if claimed:
        request.state.idempotency = IdempotencyClaim(workspace_id, key)
    else:  # pragma: no cover - only when another request re-claims an expired key meanwhile
        raise Conflict("A request with this Idempotency-Key is being processed; retry shortly.")


async def _insert_claim(
    session: AsyncSession, workspace_id: uuid.UUID, key: str, request_hash: bytes
) -> bool:
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(workspace_id=workspace_id, key=key, request_hash=request_hash)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.key)
    )
    return inserted is not None


def _replay(stored: IdempotencyKey, request_hash: bytes) -> None:
    if stored.request_hash != request_hash:
        raise invalid_field(
            ["header", IDEMPOTENCY_HEADER],
            "this key was already used with a different request",
        )
    if stored.response_status is None:
        raise Conflict("A request with this Idempotency-Key is being processed; retry shortly.")
    if stored.response_body is None:
        raise Conflict(
            "The request with this Idempotency-Key succeeded, and its response showed a secret "
            "that is shown only once, so it is not replayed. "
            + (f"The record is at {location}. " if (location := _location(stored)) else "")
            + "Revoke or rotate it if the secret was lost."
        )
    raise IdempotentReplay(
        stored.response_status, stored.response_headers or {}, stored.response_body
    )


def _location(stored: IdempotencyKey) -> str | None:
    return (stored.response_headers or {}).get("location")


def shows_a_secret(response: Response) -> bool:
    """Whether the JSON body has a top-level field that is shown once (core.auth.SHOWN_ONCE)."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and not SHOWN_ONCE.isdisjoint(body)


async def store_response(
    session: AsyncSession, claim: IdempotencyClaim, response: Response
) -> None:
    headers = {
        name: value
        for name, value in response.headers.items()
        if name in (*_KEPT_HEADERS, "content-type")
    }
    withheld = shows_a_secret(response)
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.workspace_id == claim.workspace_id, IdempotencyKey.key == claim.key)
        .values(
            response_status=response.status_code,
            response_headers=headers,
            response_body=None if withheld else response.body,
        )
    )
