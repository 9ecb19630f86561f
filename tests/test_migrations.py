"""Migrations build the schema, go down and up again, and match the models exactly."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from crm_api.core.embedded import drop_database
from crm_api.core.migrations import alembic_config
from crm_api.models import Base
from tests.conftest import fresh_database


def _differences(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_go_down_and_up_and_match_the_models(database_server: str) -> None:
    name, url = await fresh_database(database_server)
    engine = create_async_engine(url)
    try:
        config = alembic_config(url)
        await asyncio.to_thread(command.upgrade, config, "head")
        await asyncio.to_thread(command.downgrade, config, "base")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == {"alembic_version"}
        await asyncio.to_thread(command.upgrade, config, "head")
        async with engine.connect() as connection:
            assert set(Base.metadata.tables) <= await connection.run_sync(_tables)
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
        await drop_database(database_server, name)
