"""Alembic environment: async engine, URL from the caller or from CRM_DATABASE_URL."""

import asyncio

from alembic import context
from sqlalchemy import Connection, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

from crm_api.core.config import get_settings
from crm_api.core.db import sqlalchemy_url
from crm_api.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if not url:
        raise RuntimeError(
            "Set CRM_DATABASE_URL, or run `crm-api migrate` to use the embedded server."
        )
    return sqlalchemy_url(url).render_as_string(hide_password=False)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


# Replicas that start together take turns here: the first migrates; the others wait for its
# commit, then read the version it wrote and have nothing left to do. (A transaction-level
# lock: PostgreSQL runs the whole upgrade in one transaction, DDL included.)
MIGRATION_LOCK = 0x63726D5F6D6967  # "crm_mig"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def run_migrations_online() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif (connection := config.attributes.get("connection")) is not None:
    _run(connection)
else:
    asyncio.run(run_migrations_online())
