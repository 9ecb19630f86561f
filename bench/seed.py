"""Seed a benchmark workspace through COPY: 100k companies and 1M contacts by default.

The database is built by the project's own migrations; the workspace and its admin key by the
project's own service. Rows are generated in Python and streamed with COPY in chunks.
"""

import asyncio
import json
import random
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import URL
from uuid_utils.compat import uuid7

from crm_api.core.config import Settings
from crm_api.core.db import create_engine, create_sessionmaker, libpq_url
from crm_api.core.migrations import upgrade_to_head
from crm_api.workspaces.service import create_workspace

INDUSTRIES = ["software", "retail", "finance", "health", "education", "energy", "media", "travel"]
STAGES = ["subscriber", "lead", "marketing_qualified", "sales_qualified", "opportunity", "customer"]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"]
CHUNK = 100_000


@dataclass
class Seeded:
    database_url: str
    workspace_id: str
    api_key: str
    contacts: int
    companies: int
    deals: int = 0
    interactions: int = 0
    busy_contact_id: str = ""


async def _copy_companies(
    connection: asyncpg.Connection, workspace_id: uuid.UUID, count: int, start: datetime
) -> list[uuid.UUID]:
    ids = [uuid7() for _ in range(count)]
    columns = (
        "workspace_id",
        "id",
        "name",
        "domain",
        "industry",
        "employee_count",
        "tags",
        "custom_fields",
        "created_at",
        "updated_at",
        "version",
    )
    rows = [
        (
            workspace_id,
            company_id,
            f"Company {n}",
            f"company{n}.example",
            INDUSTRIES[n % len(INDUSTRIES)],
            (n * 37) % 5000,
            ["b2b"] if n % 3 == 0 else [],
            "{}",
            start + timedelta(seconds=n * 60),
            start + timedelta(seconds=n * 60),
            1,
        )
        for n, company_id in enumerate(ids)
    ]
    await connection.copy_records_to_table("companies", records=rows, columns=columns)
    return ids


async def _copy_contacts(
    connection: asyncpg.Connection,
    workspace_id: uuid.UUID,
    count: int,
    company_ids: list[uuid.UUID],
    start: datetime,
) -> None:
    columns = (
        "workspace_id",
        "id",
        "first_name",
        "last_name",
        "email",
        "additional_emails",
        "phones",
        "lifecycle_stage",
        "lead_source",
        "company_id",
        "tags",
        "custom_fields",
        "created_at",
        "updated_at",
        "version",
    )
    randomness = random.Random(7)
    for offset in range(0, count, CHUNK):
        rows: list[tuple[Any, ...]] = []
        for n in range(offset, min(offset + CHUNK, count)):
            created = start + timedelta(seconds=n * 30)
            rows.append(
                (
                    workspace_id,
                    uuid7(),
                    FIRST[n % len(FIRST)],
                    f"{LAST[n % len(LAST)]}{n}",
                    f"person{n}@example.com",
                    [],
                    "[]",
                    STAGES[n % len(STAGES)],
                    "web" if n % 2 else "event",
                    company_ids[randomness.randrange(len(company_ids))] if n % 10 else None,
                    ["vip"] if n % 50 == 0 else [],
                    "{}",
                    created,
                    created,
                    1,
                )
            )
        await connection.copy_records_to_table("contacts", records=rows, columns=columns)
        print(f"  contacts: {offset + len(rows):,}", flush=True)


async def _copy_deals(
    connection: asyncpg.Connection,
    workspace_id: uuid.UUID,
    count: int,
    company_ids: list[uuid.UUID],
    start: datetime,
) -> None:
    stages = await connection.fetch(
        "SELECT pipeline_id, id FROM pipeline_stages WHERE workspace_id = $1 ORDER BY position",
        workspace_id,
    )
    columns = (
        "workspace_id",
        "id",
        "name",
        "amount",
        "currency",
        "pipeline_id",
        "stage_id",
        "company_id",
        "tags",
        "custom_fields",
        "stage_changed_at",
        "created_at",
        "updated_at",
        "version",
    )
    rows: list[tuple[Any, ...]] = []
    for n in range(count):
        stage = stages[n % len(stages)]
        created = start + timedelta(seconds=n * 90)
        rows.append(
            (
                workspace_id,
                uuid7(),
                f"Deal {n}",
                Decimal(1000 + (n * 7919) % 99000),
                "EUR",
                stage["pipeline_id"],
                stage["id"],
                company_ids[n % len(company_ids)],
                [],
                "{}",
                created,
                created,
                created,
                1,
            )
        )
    await connection.copy_records_to_table("deals", records=rows, columns=columns)


async def _copy_interactions(
    connection: asyncpg.Connection,
    workspace_id: uuid.UUID,
    count: int,
    contact_ids: list[uuid.UUID],
    busy_contact: uuid.UUID,
    start: datetime,
) -> None:
    """Half of them belong to one busy contact, whose timeline is then long."""
    columns = (
        "workspace_id",
        "id",
        "kind",
        "direction",
        "subject",
        "occurred_at",
        "contact_id",
        "created_at",
        "updated_at",
        "version",
    )
    for offset in range(0, count, CHUNK):
        rows = [
            (
                workspace_id,
                uuid7(),
                "email",
                "outbound",
                f"Follow-up {n}",
                start + timedelta(seconds=n * 20),
                busy_contact if n % 2 else contact_ids[n % len(contact_ids)],
                start,
                start,
                1,
            )
            for n in range(offset, min(offset + CHUNK, count))
        ]
        await connection.copy_records_to_table("interactions", records=rows, columns=columns)


async def seed(
    url: URL, *, contacts: int, companies: int, deals: int = 0, interactions: int = 0
) -> Seeded:
    await asyncio.to_thread(upgrade_to_head, url)
    settings = Settings(database_url=url.render_as_string(hide_password=False))
    engine = create_engine(url, settings)
    async with create_sessionmaker(engine)() as session, session.begin():
        workspace, key = await create_workspace(session, "Benchmark")
    await engine.dispose()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    connection = await asyncpg.connect(libpq_url(url))
    try:
        company_ids = await _copy_companies(connection, workspace.id, companies, start)
        print(f"  companies: {companies:,}", flush=True)
        await _copy_contacts(connection, workspace.id, contacts, company_ids, start)
        await _copy_deals(connection, workspace.id, deals, company_ids, start)
        print(f"  deals: {deals:,}", flush=True)
        contact_ids = [
            row["id"]
            for row in await connection.fetch(
                "SELECT id FROM contacts WHERE workspace_id = $1 LIMIT 10000", workspace.id
            )
        ]
        busy = contact_ids[0]
        await _copy_interactions(connection, workspace.id, interactions, contact_ids, busy, start)
        print(f"  interactions: {interactions:,}", flush=True)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return Seeded(
        database_url=url.render_as_string(hide_password=False),
        workspace_id=str(workspace.id),
        api_key=key.secret,
        contacts=contacts,
        companies=companies,
        deals=deals,
        interactions=interactions,
        busy_contact_id=str(busy),
    )


def save(seeded: Seeded, path: Path) -> None:
    path.write_text(json.dumps(asdict(seeded), indent=2))


def load(path: Path) -> Seeded:
    return Seeded(**json.loads(path.read_text()))
