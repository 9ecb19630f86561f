"""Migrations build the schema, go down and up again, and match the models exactly."""

import asyncio
import os
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

from crm_api.core.embedded import drop_database
from crm_api.core.migrations import alembic_config
from crm_api.models import Base
from tests.conftest import fresh_database

CRM_API = str(Path(sys.executable).with_name("crm-api"))


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


async def test_replicas_that_migrate_at_once_take_turns(database_server: str) -> None:
    """Several `crm-api migrate` processes starting together on a new database (replicas of
    the image) all succeed: one builds the schema, the others wait for it and find nothing
    left to do."""
    name, url = await fresh_database(database_server)
    environment = {
        **os.environ,
        "CRM_DATABASE_URL": url.render_as_string(hide_password=False),
    }
    try:
        processes = [
            await asyncio.create_subprocess_exec(
                CRM_API,
                "migrate",
                env=environment,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            for _ in range(3)
        ]
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)), 120
        )
        for process, (output, _) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, output.decode()
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                assert await connection.run_sync(_differences) == []
        finally:
            await engine.dispose()
    finally:
        await drop_database(database_server, name)
