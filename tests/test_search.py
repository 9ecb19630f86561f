"""?q= on every list a person searches: tickets, interactions, tasks and orders too."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import (
    Workspace,
    make_contact,
    make_interaction,
    make_order,
    make_task,
    make_ticket,
)


async def _found(client: AsyncClient, workspace: Workspace, path: str, q: str) -> list[str]:
    response = await client.get(path, params={"q": q}, headers=workspace.headers)
    assert response.status_code == 200, response.text
    return [record["id"] for record in response.json()["data"]]


async def test_q_finds_tickets_interactions_tasks_and_orders_by_their_words(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    buyer = await make_contact(client, workspace, first_name="Hedy", last_name="Lamarr")
    other = await make_contact(client, workspace, first_name="Grace", email="grace@example.com")
    made: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
        "/v1/tickets": (
            await make_ticket(client, workspace, subject="Invoice PDF is blank"),
            await make_ticket(client, workspace, subject="Login", description="Password reset"),
        ),
        "/v1/interactions": (
            await make_interaction(client, workspace, subject="Renewal call"),
            await make_interaction(client, workspace, body="Asked about the INVOICE again"),
        ),
        "/v1/tasks": (
            await make_task(client, workspace, title="Send invoice"),
            await make_task(client, workspace, title="Call", description="Discuss renewal"),
        ),
        "/v1/orders": (
            await make_order(client, workspace, contact_id=buyer["id"]),
            await make_order(client, workspace, contact_id=other["id"]),
        ),
    }
    searches = {
        "/v1/tickets": ("invoice", "password"),
        "/v1/interactions": ("renewal", "invoice"),
        "/v1/tasks": ("INVOICE", "renewal"),
        "/v1/orders": ("lamarr", "grace@example"),
    }
    for path, (first, second) in made.items():
        by_first, by_second = searches[path]
        assert await _found(client, workspace, path, by_first) == [first["id"]], path
        assert await _found(client, workspace, path, by_second) == [second["id"]], path
        assert await _found(client, workspace, path, "%") == [], path
        # Another workspace's search sees none of these records.
        assert await _found(client, other_workspace, path, by_first) == [], path


async def test_q_finds_what_it_names_whatever_the_case_and_wildcards_match_themselves(
    client: AsyncClient, workspace: Workspace
) -> None:
    """The search text is lower-cased as the stored text was, by PostgreSQL: 'İ' (which
    Python lower-cases to 'i' plus a combining dot) finds 'İstanbul'."""
    city = await make_contact(client, workspace, first_name="İstanbul", last_name="Office")
    marked = await make_contact(client, workspace, first_name="100%_sure", last_name="Person")
    await make_contact(client, workspace, first_name="100x", last_name="Other")
    for q in ("İstanbul", "istanbul", "İSTANBUL"):
        assert await _found(client, workspace, "/v1/contacts", q) == [city["id"]], q
    assert await _found(client, workspace, "/v1/contacts", "100%_") == [marked["id"]]
    assert await _found(client, workspace, "/v1/contacts", "0%") == [marked["id"]]
    assert await _found(client, workspace, "/v1/contacts", "_sure/") == []


async def test_every_search_index_keeps_a_short_pending_list(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    """A search reads a trigram index's whole list of unmerged entries, so every one of them
    keeps it at 64 kB: a busy day of writes must not slow every search down."""
    options = dict(
        (
            await connection.execute(
                text(
                    "SELECT i.relname, coalesce(array_to_string(i.reloptions, ','), '')"
                    " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
                    " JOIN pg_opclass o ON o.oid = ANY (x.indclass::oid[])"
                    " WHERE o.opcname = 'gin_trgm_ops'"
                )
            )
        ).all()
    )
    assert set(options) >= {"ix_contacts_search_text", "ix_companies_search_text", "ix_deals_name"}
    assert set(options.values()) == {"gin_pending_list_limit=64"}, options
    for n in range(30):
        await make_contact(client, workspace, first_name=f"Pending{n}")
    assert len(await _found(client, workspace, "/v1/contacts", "pending17")) == 1
