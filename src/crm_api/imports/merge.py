"""Merging one chunk of prepared rows: copied with PostgreSQL ``COPY`` into a staging table,
checked by set-based statements (each refusing rows with the message a ``POST`` would give),
then one INSERT of the new records and one UPDATE of the matched ones; what they record
(events, audit entries, history) follows from the staging table (see ``recorded``). The chunk
commits in one transaction with the job's progress (see ``jobs``): a worker that dies mid-job
loses at most the chunk in flight.
"""

from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.ids import new_id
from crm_api.models import ImportJob
from crm_api.models.base import utcnow

from .prepare import Counts, Prepared
from .recorded import Written, record
from .resource import Resource

# The ids of what the record's write will record (see recorded): made here, in the thread that
# prepares the next chunk, which has time to spare, rather than by the database, which has not.
_RECORDED_IDS = ("event_id", "audit_id", "history_id")
_STAGE_EXTRA = ("row_number", "sent", "key_hash", "create_problem", *_RECORDED_IDS)


def _staging_sql(resource: Resource) -> str:
    columns = ", ".join(resource.columns)
    links = "".join(f", ADD COLUMN {link.field} text" for link in resource.links)
    ids = "".join(f", ADD COLUMN {name} uuid" for name in _RECORDED_IDS)
    return (
        f"CREATE TEMP TABLE import_stage ON COMMIT DROP AS "
        f"SELECT id, {columns} FROM {resource.table} WITH NO DATA;"
        "ALTER TABLE import_stage ADD COLUMN row_number integer, ADD COLUMN sent text[], "
        "ADD COLUMN key_hash bytea, ADD COLUMN create_problem text, "
        "ADD COLUMN existing_id uuid, ADD COLUMN existing_archived boolean, "
        # Set by the write: the record was created or changed; and as it read before it.
        "ADD COLUMN written boolean, ADD COLUMN before jsonb"
        f"{ids}{links}"
    )


def staged_record(resource: Resource, prepared: Prepared) -> tuple[Any, ...]:
    """The row as COPY sends it to the staging table, under a new record id."""
    values = prepared.values
    cells: list[Any] = [new_id()]
    for column in resource.columns:
        value = values.get(column)
        if column in resource.jsonb and value is not None:
            value = orjson.dumps(value).decode()
        cells.append(value)
    return (
        *cells,
        prepared.number,
        prepared.sent,
        resource.key_hash(prepared.key),
        prepared.create_problem,
        *(new_id() for _ in _RECORDED_IDS),
        *(prepared.links.get(link.field) for link in resource.links),
    )


async def load_chunk(
    session: AsyncSession,
    principal: Principal,
    resource: Resource,
    job: ImportJob,
    chunk: Sequence[tuple[Any, ...]],
    counts: Counts,
) -> None:
    """Write one chunk (rows from ``staged_record``) in the session's transaction: records,
    their events and audit entries."""
    connection = await session.connection()
    raw_connection = await connection.get_raw_connection()
    raw: asyncpg.Connection = raw_connection.driver_connection
    # The connection plans every statement for its values (core.db), triggers' statements
    # included: the webhook fan-out and each foreign key check were planned again for each of
    # a chunk's rows, 110 us and 20 us a row of the database's time. A chunk's own statements
    # run once each; their triggers' plans are worth keeping.
    await raw.execute("SET LOCAL plan_cache_mode = auto")
    await raw.execute(_staging_sql(resource))
    if chunk:
        await raw.copy_records_to_table(
            "import_stage",
            columns=(
                "id",
                *resource.columns,
                *_STAGE_EXTRA,
                *(link.field for link in resource.links),
            ),
            records=chunk,
        )
        now = utcnow()
        await _check(raw, principal, resource, job, counts, now)
        written = await _write(session, raw, principal, resource, job, counts, now)
        counts.created += len(written.created)
        counts.updated += len(written.updated)
        if written.created or written.updated:
            await record(session, raw, principal, resource, written, now)
    # Dropped at commit anyway; at once too, for a caller whose "commit" is a savepoint.
    await raw.execute("DROP TABLE import_stage")


async def _refuse(
    raw: asyncpg.Connection, counts: Counts, sql: str, *args: Any, msg: str, loc: list[str]
) -> None:
    for row in await raw.fetch(sql, *args):
        counts.fail(row["row_number"], msg.format(**dict(row)), loc, "conflict")


async def _check(
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    job: ImportJob,
    counts: Counts,
    now: Any,
) -> None:
    """Refuse the staged rows a ``POST`` (or an update) would refuse; find the matched ones."""
    workspace_id = principal.workspace_id
    if resource.erasable and not job.reimport_erased:
        await _refuse(
            raw,
            counts,
            "DELETE FROM import_stage s USING erased_emails e WHERE e.workspace_id = $1 "
            "AND e.email_hash = s.key_hash RETURNING s.row_number",
            workspace_id,
            msg="a person with this email was erased; import with reimport_erased to create "
            "the contact again",
            loc=[resource.key or "id"],
        )
    await _resolve_links(raw, workspace_id, resource, counts, now)
    if resource.key_sql is not None:
        await raw.execute(
            f"UPDATE import_stage s SET existing_id = t.id, "
            f"existing_archived = t.archived_at IS NOT NULL FROM {resource.table} t "
            f"WHERE t.workspace_id = $1 AND {resource.key_sql.format('t')} = "
            f"{resource.key_sql.format('s')}",
            workspace_id,
        )
    await _refuse_for_mode(raw, resource, job, counts)


async def _resolve_links(
    raw: asyncpg.Connection, workspace_id: Any, resource: Resource, counts: Counts, now: Any
) -> None:
    """The resource's own steps (links by name, defaults), then every id a row names must be a
    record of this workspace."""
    for step in resource.steps:
        args = (workspace_id, now) if "$2" in step.sql else (workspace_id,)
        if step.refusal is None:
            await raw.execute(step.sql, *args)
        else:
            await _refuse(raw, counts, step.sql, *args, msg=step.refusal, loc=list(step.loc))
    for column, (target, noun) in resource.references.items():
        await _refuse(
            raw,
            counts,
            f"DELETE FROM import_stage s WHERE s.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {target} t WHERE t.workspace_id = $1 AND t.id = s.{column}) "
            f"RETURNING s.row_number, s.{column}::text AS value",
            workspace_id,
            msg=f"no {noun} {{value}} in this workspace",
            loc=[column],
        )


async def _refuse_for_mode(
    raw: asyncpg.Connection, resource: Resource, job: ImportJob, counts: Counts
) -> None:
    """A create refuses a key that exists; an upsert refuses an archived match, and a new record
    its create schema refused."""
    key_loc = [resource.key or "id"]
    if job.mode == "create":
        await _refuse(
            raw,
            counts,
            "DELETE FROM import_stage WHERE existing_id IS NOT NULL RETURNING row_number",
            msg=f"a {resource.event} with this {resource.key} already exists",
            loc=key_loc,
        )
        return
    await _refuse(
        raw,
        counts,
        "DELETE FROM import_stage WHERE existing_archived RETURNING row_number",
        msg=f"the {resource.event} with this {resource.key} is archived; restore it first",
        loc=key_loc,
    )
    await _refuse(
        raw,
        counts,
        "DELETE FROM import_stage WHERE existing_id IS NULL AND create_problem IS NOT NULL "
        "RETURNING row_number, create_problem",
        msg="{create_problem}",
        loc=["custom_fields"],
    )


async def _write(
    session: AsyncSession,
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    job: ImportJob,
    counts: Counts,
    now: Any,
) -> Written:
    """The INSERT of the new records, then (an upsert) the UPDATE of the matched ones."""
    names = ", ".join(resource.columns)
    values = ", ".join(_created_value(resource, column) for column in resource.columns)
    on_conflict = (
        f"ON CONFLICT {resource.conflict_target} DO NOTHING" if resource.conflict_target else ""
    )
    created = [
        row["id"]
        for row in await raw.fetch(
            f"WITH inserted AS (INSERT INTO {resource.table} (workspace_id, id, {names}, "
            f"created_at, updated_at, version) SELECT $1, id, {values}, $2, $2, 1 "
            f"FROM import_stage WHERE existing_id IS NULL ORDER BY row_number {on_conflict} "
            "RETURNING id) "
            "UPDATE import_stage s SET written = true FROM inserted WHERE s.id = inserted.id "
            "RETURNING s.id",
            principal.workspace_id,
            now,
        )
    ]
    # Refused by the unique index: a record with the key was created since the check above.
    for row in await raw.fetch(
        "SELECT row_number FROM import_stage WHERE existing_id IS NULL AND written IS NULL"
    ):
        counts.fail(
            row["row_number"],
            f"a {resource.event} with this {resource.key} was created meanwhile; "
            "import the row again to update it",
            [resource.key or "id"],
            "conflict",
        )
    written = Written(created=created)
    if job.mode == "upsert":
        await _update_matched(session, raw, principal, resource, counts, written, now)
    return written


def _created_value(resource: Resource, column: str) -> str:
    """A column's value in a new record: an object keeps only its non-null members, as a
    creation through the API stores it."""
    if column in resource.merged:
        return f"jsonb_strip_nulls({column})"
    return column


def _new_value(resource: Resource, column: str) -> str:
    """A column's value after an update of a row that gives it: objects merge (RFC 7396 at the
    top level: a null member removes it), anything else is replaced."""
    if column in resource.merged:
        return (
            f"CASE WHEN s.{column} IS NULL THEN NULL ELSE "
            f"jsonb_strip_nulls(coalesce(t.{column}, '{{}}') || s.{column}) END"
        )
    return f"s.{column}"


async def _update_matched(
    session: AsyncSession,
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    counts: Counts,
    written: Written,
    now: Any,
) -> None:
    """Lock the matched records and keep how they read, then change those whose sent values
    differ from theirs (an update that changes nothing is no update: no version, no event)."""
    table, workspace_id = resource.table, principal.workspace_id
    matched = f"{table} t JOIN import_stage s ON t.workspace_id = $1 AND t.id = s.existing_id"
    if resource.read_sql is not None:
        status = await raw.execute(
            f"UPDATE import_stage s SET before = b.data FROM (SELECT t.id, {resource.read_sql} "
            f"AS data FROM {matched} ORDER BY t.id FOR UPDATE OF t) b WHERE s.existing_id = b.id",
            workspace_id,
        )
        found = int(status.split()[-1])
    else:
        statement = f"SELECT t.* FROM {matched} ORDER BY t.id FOR UPDATE OF t"
        before = {
            row.id: row
            for row in await session.execute(
                text(statement.replace("$1", ":workspace")), {"workspace": workspace_id}
            )
        }
        found = len(before)
    assignments = ", ".join(
        f"{column} = CASE WHEN '{column}' = ANY(s.sent) "
        f"THEN {_new_value(resource, column)} ELSE t.{column} END"
        for column in resource.columns
    )
    changed = " OR ".join(
        f"('{column}' = ANY(s.sent) AND t.{column} IS DISTINCT FROM {_new_value(resource, column)})"
        for column in resource.columns
    )
    written.updated = [
        row["id"]
        for row in await raw.fetch(
            f"WITH changed AS (UPDATE {table} t SET {assignments}, version = t.version + 1, "
            f"updated_at = $2 FROM import_stage s WHERE t.workspace_id = $1 "
            f"AND t.id = s.existing_id AND ({changed}) RETURNING t.id) "
            "UPDATE import_stage s SET written = true FROM changed "
            "WHERE s.existing_id = changed.id RETURNING s.existing_id AS id",
            workspace_id,
            now,
        )
    ]
    counts.unchanged += found - len(written.updated)
    if resource.read_sql is None:
        written.before = {record_id: before[record_id] for record_id in written.updated}
