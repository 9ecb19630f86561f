"""core.db.fetch_rows answers as SQLAlchemy's own execution does, for every kind of value.

It compiles a statement shape once and binds each call's values into it, so the cases that
matter are a second statement of the same shape with other values, IN lists (whose SQL text
depends on their length), and values SQLAlchemy converts on the way in (JSON, arrays, enums).
"""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm_api.core.db import fetch_rows
from crm_api.models import Contact
from tests.factories import Workspace, make_contact


async def _both(connection: AsyncConnection, statement: Select[Any]) -> tuple[list[Any], Any]:
    session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint")
    fast = [dict(row) for row in await fetch_rows(session, statement)]
    slow = [dict(row._mapping) for row in (await connection.execute(statement)).all()]
    return fast, slow


async def test_each_call_binds_its_own_values_into_a_shared_shape(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    made = [
        await make_contact(
            client,
            workspace,
            first_name=name,
            tags=[name.lower(), "shared"],
            custom_fields={},
            lifecycle_stage=stage,
        )
        for name, stage in (("Ada", "lead"), ("Grace", "customer"), ("Hedy", "customer"))
    ]
    ids = [uuid.UUID(contact["id"]) for contact in made]
    columns = (Contact.id, Contact.first_name, Contact.tags, Contact.address)
    base = select(*columns).where(Contact.workspace_id == workspace.id)

    def shapes(n: int, name: str, stage: str, tag: str) -> list[Select[Any]]:
        return [
            base.where(Contact.first_name == name).order_by(Contact.id),
            base.where(Contact.id.in_(ids[:n])).order_by(Contact.id),  # expanding IN
            base.where(Contact.lifecycle_stage == stage).order_by(Contact.id),
            base.where(Contact.tags.contains([tag])).order_by(Contact.id),  # an array value
            base.where(Contact.address.is_(None), Contact.first_name != name).limit(n),
        ]

    seen: set[int] = set()
    for values in ((1, "Ada", "lead", "ada"), (3, "Grace", "customer", "shared")):
        for statement in shapes(*values):
            fast, slow = await _both(connection, statement)
            assert fast == slow, statement
            seen.add(len(fast))
    assert {1, 2, 3} <= seen  # the cases returned rows, and not all the same number
