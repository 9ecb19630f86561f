"""Engine and session factory; database URLs in the forms SQLAlchemy and asyncpg each want."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from sqlalchemy import URL, ClauseElement, make_url
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm_api.core.config import Settings


def sqlalchemy_url(url: str) -> URL:
    """Any PostgreSQL URL (``postgresql://``, ``postgresql+asyncpg://``, ...) for asyncpg."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgres"):
        raise ValueError(f"crm-api runs on PostgreSQL only, not {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+asyncpg")


def libpq_url(url: str | URL) -> str:
    """The plain ``postgresql://`` form that asyncpg.connect() accepts."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str | URL, database: str) -> URL:
    parsed = url if isinstance(url, URL) else make_url(url)
    return sqlalchemy_url(parsed.render_as_string(hide_password=False)).set(database=database)


def create_engine(url: str | URL, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        url if isinstance(url, URL) else sqlalchemy_url(url),
        # JSONB columns (custom fields, addresses, events) decode and encode with orjson.
        json_deserializer=orjson.loads,
        json_serializer=lambda value: orjson.dumps(value).decode(),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_seconds,
        # Statement parameters are personal data (names, emails, addresses): never in an error
        # message, and so never in a log line, which erasure cannot reach.
        hide_parameters=True,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            # No JIT: compiling a plan costs 50-350 ms, far more than the short queries of an
            # API gain from it (measured on the KPI benchmark's aggregates).
            "server_settings": {"application_name": "crm-api", "jit": "off"},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class DirectPool:
    """asyncpg connections for the direct reads (core/direct.py), beside the ORM engine's pool.

    SQLAlchemy's pool hands a connection out and takes it back through a greenlet, which on a
    read by id costs more than the query. A direct read is one statement outside any transaction
    and leaves nothing behind on the connection, so connections go back to this pool without
    asyncpg's reset round trip. The pool opens on first use: no connection at start-up.
    """

    def __init__(self, url: str | URL, settings: Settings) -> None:
        self._url = libpq_url(url)
        self._size = settings.db_direct_pool_size
        self._timeout = settings.db_connect_timeout_seconds
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._turns = asyncio.Semaphore(self._size)

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._url,
                    min_size=0,
                    max_size=self._size,
                    timeout=self._timeout,
                    server_settings={"application_name": "crm-api", "jit": "off"},
                    init=_orjson_codecs,
                    reset=_nothing_to_reset,
                )
            return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open()
        # Waiting requests take turns here, first come first served: asyncpg's own queue lets a
        # newcomer take a connection a woken waiter was about to get, which sends that waiter to
        # the back (under load, a p95 of 5x the median, measured).
        async with self._turns, pool.acquire() as connection:
            yield connection

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _orjson_codecs(connection: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog"
        )


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _nothing_to_reset(_: asyncpg.Connection) -> None:
    """Direct reads set no session state (asyncpg still rolls back an open transaction)."""


def violated_constraint(exc: IntegrityError) -> tuple[str | None, str | None]:
    """The (constraint name, SQLSTATE) of an integrity error raised by asyncpg."""
    cause = getattr(exc.orig, "__cause__", None)
    constraint = getattr(cause, "constraint_name", None)
    sqlstate = getattr(cause, "sqlstate", None) or getattr(exc.orig, "sqlstate", None)
    return constraint, sqlstate


class PreparedQuery:
    """A Core statement compiled once for asyncpg, run on the session's own connection.

    For the hottest reads: SQLAlchemy's execution path (cache lookup, result and ORM object
    building) costs more than the query itself there. The statement is still written with the
    models' columns, so the SQL cannot drift from the schema.
    """

    def __init__(self, statement: ClauseElement) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[no-untyped-call]
        self.sql = str(compiled)
        self.names = tuple(getattr(compiled, "positiontup", None) or ())

    async def fetchrow(self, session: AsyncSession, **params: Any) -> Mapping[str, Any] | None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        return await self.fetchrow_on(raw.driver_connection, **params)

    async def fetchrow_on(self, driver: Any, **params: Any) -> Mapping[str, Any] | None:
        """On an asyncpg connection of the ``DirectPool`` (see core/direct.py)."""
        row: Mapping[str, Any] | None = await driver.fetchrow(
            self.sql, *(params[name] for name in self.names)
        )
        return row
