"""Engine and session factory; database URLs in the forms SQLAlchemy and asyncpg each want."""

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import (
    URL,
    ClauseElement,
    Label,
    func,
    literal_column,
    make_url,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
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
            # API gain from it (measured on the KPI benchmark's aggregates). Every statement
            # planned for its own values: a prepared statement's generic plan, which PostgreSQL
            # may switch to after five runs, scanned every company for each q= search (26-49 ms
            # of database CPU against 1-5 ms); planning each time cost reads nothing measurable.
            "server_settings": {
                "application_name": "crm-api",
                "jit": "off",
                "plan_cache_mode": "force_custom_plan",
                "work_mem": f"{settings.db_work_mem_mb}MB",
            },
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET and HEAD: on the same pool, but each statement runs on its own, outside
    a transaction, so a read costs no BEGIN and COMMIT round trips (nor their Python)."""
    return create_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


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
        row: Mapping[str, Any] | None = await raw.driver_connection.fetchrow(
            self.sql, *(params[name] for name in self.names)
        )
        return row


class _Shape:
    """A statement shape compiled once: its SQL, its parameters in order and their converters."""

    __slots__ = ("compiled", "expanding", "names", "processors", "sql")

    def __init__(self, compiled: Any) -> None:
        self.compiled = compiled
        self.sql: str = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        self.processors: Mapping[str, Any] = compiled._bind_processors
        # IN lists and literal-rendered values give each execution its own SQL text.
        self.expanding = bool(compiled.literal_execute_params or compiled.post_compile_params)


_SHAPES: dict[Any, _Shape] = {}
_MAX_SHAPES = 2_000


def _shape_of(statement: ClauseElement, dialect: Dialect) -> tuple[_Shape, Any]:
    """The statement's shape compiled for the engine's own dialect (its JSON serializer
    included), and this statement's values to bind into it."""
    key = statement._generate_cache_key()
    if key is None:  # a statement SQLAlchemy cannot cache: compile this one
        return _Shape(statement.compile(dialect=dialect)), None
    shape = _SHAPES.get((dialect, key.key))
    if shape is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        # Compiled with its cache key, as SQLAlchemy's cache does, so that another statement of
        # the same shape can bind its own values into it.
        compiled = statement._compiler(dialect, cache_key=key)
        shape = _SHAPES[(dialect, key.key)] = _Shape(compiled)
    return shape, key.bindparams


async def fetch_rows(session: AsyncSession, statement: ClauseElement) -> list[Any]:
    """The rows of a Core SELECT, as asyncpg records, run on the session's connection.

    The statement is compiled once per shape (SQLAlchemy's cache key, as its own compiled cache
    uses), and each call only binds this call's values and runs the SQL on asyncpg: for a list
    page, SQLAlchemy's execution and result layers cost more than the query. Values are
    converted as SQLAlchemy would convert them (the engine's bind processors, orjson for JSON);
    results come as asyncpg decodes them, with JSON through the engine's codec. A value the
    database refuses raises the error SQLAlchemy would (a DataError for a 22xxx), so it is
    answered as every other path answers it.
    """
    connection = await session.connection()
    dialect = connection.dialect
    shape, extracted = _shape_of(statement, dialect)
    compiled = shape.compiled
    values = compiled.construct_params(extracted_parameters=extracted, escape_names=False)
    sql, names, processors = shape.sql, shape.names, shape.processors
    if shape.expanding:
        expanded = compiled._process_parameters_for_postcompile(values)
        sql, names = expanded.statement, expanded.positiontup
        processors = {**processors, **expanded.processors}
    args = [
        processors[name](values[name]) if name in processors else values[name] for name in names
    ]
    raw = await connection.get_raw_connection()
    assert raw.driver_connection is not None
    try:
        rows: list[Any] = await raw.driver_connection.fetch(sql, *args)
    except asyncpg.PostgresError as error:
        raise _as_sqlalchemy_error(raw.dbapi_connection, dialect, sql, args, error) from error
    return rows


def _as_sqlalchemy_error(
    adapted: Any, dialect: Dialect, sql: str, args: list[Any], error: Exception
) -> DBAPIError:
    """The exception SQLAlchemy raises for this asyncpg error: the dialect's DB-API error
    (IntegrityError, DataError, ...) wrapped as a statement error, its values hidden."""
    try:
        adapted._handle_exception(error)  # raises the DB-API error for it
    except Exception as translated:
        wrapped = DBAPIError.instance(
            sql, args, translated, dialect.loaded_dbapi.Error, hide_parameters=True, dialect=dialect
        )
        assert isinstance(wrapped, DBAPIError)
        return wrapped
    raise AssertionError("the dialect did not translate an error")  # pragma: no cover


def json_array_of(
    label: str,
    fields: Mapping[str, Any],  # columns, or expressions over them
    *,
    order_by: Any,
    where: Sequence[Any],
    parent: Any,
) -> Label[Any]:
    """A correlated subquery giving the rows ``where`` picks as one JSON array of objects with
    these ``fields``, in ``order_by`` order (``[]`` when there are none): a record's children in
    the same statement as the record (``parent``), for a read by id in one round trip."""
    pairs: list[Any] = []
    for name, column in fields.items():
        pairs += [literal_column(f"'{name}'"), column]  # names from code, never input
    return (
        select(
            func.coalesce(
                func.jsonb_agg(aggregate_order_by(func.jsonb_build_object(*pairs), order_by)),
                literal_column("'[]'::jsonb"),
            )
        )
        .where(*where)
        .correlate(parent)
        .scalar_subquery()
        .label(label)
    )
