"""Loading an import, chunk by chunk: each chunk is validated in Python by the API's schemas,
copied with PostgreSQL ``COPY`` into a staging table, and merged by a handful of set-based
statements (checks, one INSERT, one UPDATE); its events, audit entries, row errors and the
job's progress commit in the same transaction. A worker that dies mid-job loses at most the
chunk in flight; whoever takes the job over resumes after the last committed one.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.errors import ValidationFailed, in_our_words
from crm_api.core.events import audited_changes, changed_fields
from crm_api.core.ids import new_id
from crm_api.custom_fields.values import checked_values, value_from_text
from crm_api.models import CustomFieldDefinition, ImportJob
from crm_api.models.base import utcnow

from . import sources
from .resources import LinkProblem, Resource


@dataclass(slots=True)
class Prepared:
    number: int
    key: str | None
    values: dict[str, Any]  # column -> value, as a creation would write it
    sent: list[str]  # the columns the row gives (an update changes only these)
    create_problem: str | None  # why the row could not create a record (required fields)
    links: dict[str, str]  # link field -> the name it gives (see resources.Link)


@dataclass(slots=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def fail(self, number: int, msg: str, loc: Sequence[str | int] = (), kind: str = "row") -> None:
        self.errors.setdefault(number, []).append({"loc": list(loc), "msg": msg, "type": kind})


def _error_loc(row: sources.SourceRow, loc: Sequence[str | int]) -> list[str | int]:
    """An error's place in the file: the source column of the field at fault, then the rest."""
    target = str(loc[0]) if loc else ""
    if target == "custom_fields" and len(loc) > 1:
        target = f"custom_fields.{loc[1]}"
        column = row.columns.get(target) or row.columns.get("custom_fields")
        return [column or target, *loc[2:]]
    return [row.columns.get(target, target), *loc[1:]]


def prepare(
    resource: Resource,
    mode: str,
    definitions: dict[str, CustomFieldDefinition],
    row: sources.SourceRow,
    counts: Counts,
) -> Prepared | None:
    """The row validated as the API validates a creation (or an upsert), or None with its
    errors counted."""
    if row.problem:
        counts.fail(row.number, row.problem)
        return None
    values = row.values
    try:
        links = resource.link_values(values)
    except LinkProblem as exc:
        counts.fail(row.number, exc.msg, _error_loc(row, [exc.field]), "value_error")
        return None
    given = values.get("custom_fields")
    if given is not None and not isinstance(given, dict):
        loc = _error_loc(row, ["custom_fields"])
        counts.fail(row.number, "must be an object of custom field values", loc, "dict_type")
        return None
    custom = dict(given or {})
    for key, raw in row.custom_text.items():
        definition = definitions.get(key)
        try:
            custom[key] = raw if definition is None else value_from_text(definition, raw)
        except ValueError as exc:
            counts.fail(
                row.number, str(exc), _error_loc(row, ["custom_fields", key]), "value_error"
            )
    if row.number in counts.errors:
        return None
    if custom or "custom_fields" in values:
        values["custom_fields"] = custom
    schema = resource.upsert if mode == "upsert" else resource.create
    try:
        model = schema.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_context=False):
            counts.fail(
                row.number, in_our_words(dict(error)), _error_loc(row, error["loc"]), error["type"]
            )
        return None
    create_problem = None
    try:
        checked = checked_values(definitions, {} if mode == "upsert" else None, custom, ())
    except ValidationFailed as exc:
        for item in exc.errors or ():
            counts.fail(
                row.number, item.msg, _error_loc(row, ["custom_fields", *item.loc]), item.type
            )
        return None
    if mode == "upsert":
        missing = sorted(
            key
            for key, definition in definitions.items()
            if definition.required and key not in checked
        )
        if missing:
            create_problem = f"a new record needs the required custom fields {', '.join(missing)}"
    columns = resource.column_values(model)
    columns["custom_fields"] = checked
    sent = [
        column for name in model.model_fields_set for column in resource.field_columns.get(name, ())
    ]
    sent += [link.column for link in resource.links if link.field in links]
    return Prepared(row.number, resource.key_of(model), columns, sent, create_problem, links)


_STAGE_EXTRA = ("row_number", "sent", "key_hash", "create_problem")


def _staging_sql(resource: Resource) -> str:
    columns = ", ".join(resource.columns)
    links = "".join(f", ADD COLUMN {link.field} text" for link in resource.links)
    return (
        f"CREATE TEMP TABLE import_stage ON COMMIT DROP AS "
        f"SELECT id, {columns} FROM {resource.table} WITH NO DATA;"
        "ALTER TABLE import_stage ADD COLUMN row_number integer, ADD COLUMN sent text[], "
        "ADD COLUMN key_hash bytea, ADD COLUMN create_problem text, "
        "ADD COLUMN existing_id uuid, ADD COLUMN existing_archived boolean"
        f"{links}"
    )


def _record(resource: Resource, prepared: Prepared, row_id: uuid.UUID) -> tuple[Any, ...]:
    values = prepared.values
    cells: list[Any] = [row_id]
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
        *(prepared.links.get(link.field) for link in resource.links),
    )


def _new_value(resource: Resource, column: str) -> str:
    """A column's value after an update of a row that gives it: objects merge (RFC 7396 at the
    top level: a null member removes it), anything else is replaced."""
    if column in resource.merged:
        return (
            f"CASE WHEN s.{column} IS NULL THEN NULL ELSE "
            f"jsonb_strip_nulls(coalesce(t.{column}, '{{}}') || s.{column}) END"
        )
    return f"s.{column}"


async def _refuse(
    raw: asyncpg.Connection, counts: Counts, sql: str, *args: Any, msg: str, loc: list[str]
) -> None:
    for record in await raw.fetch(sql, *args):
        counts.fail(record["row_number"], msg.format(**dict(record)), loc, "conflict")


async def load_chunk(
    session: AsyncSession,
    principal: Principal,
    resource: Resource,
    job: ImportJob,
    chunk: Sequence[Prepared],
    counts: Counts,
) -> None:
    """Write one chunk in the session's transaction: records, their events and audit entries."""
    connection = await session.connection()
    raw_connection = await connection.get_raw_connection()
    raw: asyncpg.Connection = raw_connection.driver_connection
    await raw.execute(_staging_sql(resource))
    await _merge(session, raw, principal, resource, job, chunk, counts)
    # Dropped at commit anyway; at once too, for a caller whose "commit" is a savepoint.
    await raw.execute("DROP TABLE import_stage")


async def _merge(
    session: AsyncSession,
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    job: ImportJob,
    chunk: Sequence[Prepared],
    counts: Counts,
) -> None:
    """Staging -> checks -> one INSERT of the new records, one UPDATE of the matched ones."""
    workspace_id = principal.workspace_id
    table = resource.table
    if not chunk:
        return
    await raw.copy_records_to_table(
        "import_stage",
        columns=(
            "id",
            *resource.columns,
            *_STAGE_EXTRA,
            *(link.field for link in resource.links),
        ),
        records=[_record(resource, prepared, new_id()) for prepared in chunk],
    )
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
    now = utcnow()
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
    key = resource.key_sql
    if key is not None:
        await raw.execute(
            f"UPDATE import_stage s SET existing_id = t.id, "
            f"existing_archived = t.archived_at IS NOT NULL FROM {table} t "
            f"WHERE t.workspace_id = $1 AND {key.format('t')} = {key.format('s')}",
            workspace_id,
        )
    if job.mode == "create":
        await _refuse(
            raw,
            counts,
            "DELETE FROM import_stage WHERE existing_id IS NOT NULL RETURNING row_number",
            msg=f"a {resource.event} with this {resource.key} already exists",
            loc=[resource.key or "id"],
        )
    else:
        await _refuse(
            raw,
            counts,
            "DELETE FROM import_stage WHERE existing_archived RETURNING row_number",
            msg=f"the {resource.event} with this {resource.key} is archived; restore it first",
            loc=[resource.key or "id"],
        )
        await _refuse(
            raw,
            counts,
            "DELETE FROM import_stage WHERE existing_id IS NULL AND create_problem IS NOT NULL "
            "RETURNING row_number, create_problem",
            msg="{create_problem}",
            loc=["custom_fields"],
        )
    names = ", ".join(resource.columns)
    on_conflict = (
        f"ON CONFLICT {resource.conflict_target} DO NOTHING" if resource.conflict_target else ""
    )
    staged = await raw.fetch("SELECT id, row_number FROM import_stage WHERE existing_id IS NULL")
    inserted = {
        record["id"]
        for record in await raw.fetch(
            f"INSERT INTO {table} (workspace_id, id, {names}, created_at, updated_at, version) "
            f"SELECT $1, id, {names}, $2, $2, 1 FROM import_stage WHERE existing_id IS NULL "
            f"ORDER BY row_number {on_conflict} RETURNING id",
            workspace_id,
            now,
        )
    }
    for record in staged:
        if record["id"] not in inserted:
            counts.fail(
                record["row_number"],
                f"a {resource.event} with this {resource.key} was created meanwhile; "
                "import the row again to update it",
                [resource.key or "id"],
                "conflict",
            )
    created = [record["id"] for record in staged if record["id"] in inserted]
    before: dict[uuid.UUID, Any] = {}
    updated: list[uuid.UUID] = []
    if job.mode == "upsert":
        before = {
            row.id: row
            for row in (
                await session.execute(
                    text(
                        f"SELECT t.* FROM {table} t JOIN import_stage s "
                        f"ON t.workspace_id = :workspace AND t.id = s.existing_id "
                        "ORDER BY t.id FOR UPDATE OF t"
                    ),
                    {"workspace": workspace_id},
                )
            ).all()
        }
        assignments = ", ".join(
            f"{column} = CASE WHEN '{column}' = ANY(s.sent) "
            f"THEN {_new_value(resource, column)} ELSE t.{column} END"
            for column in resource.columns
        )
        changed = " OR ".join(
            f"('{column}' = ANY(s.sent) AND t.{column} IS DISTINCT FROM "
            f"{_new_value(resource, column)})"
            for column in resource.columns
        )
        updated = [
            record["id"]
            for record in await raw.fetch(
                f"UPDATE {table} t SET {assignments}, version = t.version + 1, updated_at = $2 "
                f"FROM import_stage s WHERE t.workspace_id = $1 AND t.id = s.existing_id "
                f"AND ({changed}) RETURNING t.id",
                workspace_id,
                now,
            )
        ]
        counts.unchanged += len(before) - len(updated)
        before = {record_id: before[record_id] for record_id in updated}
    counts.created += len(created)
    counts.updated += len(updated)
    written = [*created, *updated]
    if not written:
        return
    more: list[tuple[str, uuid.UUID]] = []
    if resource.before_read is not None:
        more += await resource.before_read(session, raw, principal, created, before, {})
    after = {
        row.id: row
        for row in (
            await session.execute(
                text(f"SELECT * FROM {table} WHERE workspace_id = :workspace AND id = ANY(:ids)"),
                {"workspace": workspace_id, "ids": written},
            )
        ).all()
    }
    if resource.after_read is not None:
        more += await resource.after_read(session, raw, principal, created, before, after)
    await _record_events(raw, principal, resource, before, after, more, now)


async def _record_events(
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    before: Mapping[uuid.UUID, Any],
    after: Mapping[uuid.UUID, Any],
    more: Sequence[tuple[str, uuid.UUID]],
    now: Any,
) -> None:
    """``<resource>.created`` / ``.updated`` events (and ``more``), with audit entries."""
    events: list[tuple[Any, ...]] = []
    audit: list[tuple[Any, ...]] = []
    common = (principal.actor_type, principal.actor_id, now)
    data_of = {
        record_id: resource.read(row).model_dump(mode="json") for record_id, row in after.items()
    }
    todo: list[tuple[str, uuid.UUID]] = [
        (f"{resource.event}.{'updated' if record_id in before else 'created'}", record_id)
        for record_id in after
    ]
    for event_type, record_id in [*todo, *more]:
        data = data_of[record_id]
        previous: dict[str, Any] | None = None
        if event_type.endswith(".updated"):
            old = resource.read(before[record_id]).model_dump(mode="json")
            previous = changed_fields(old, data)
        events.append(
            (
                principal.workspace_id,
                new_id(),
                event_type,
                resource.event,
                record_id,
                orjson.dumps(data).decode(),
                None if previous is None else orjson.dumps(previous).decode(),
                *common,
            )
        )
        audit.append(
            (
                principal.workspace_id,
                new_id(),
                event_type,
                resource.event,
                record_id,
                orjson.dumps(audited_changes(event_type, data, previous)).decode(),
                *common,
            )
        )
    await raw.copy_records_to_table(
        "events",
        columns=(
            "workspace_id",
            "id",
            "type",
            "resource_type",
            "resource_id",
            "data",
            "previous",
            "actor_type",
            "actor_id",
            "occurred_at",
        ),
        records=events,
    )
    await raw.copy_records_to_table(
        "audit_log",
        columns=(
            "workspace_id",
            "id",
            "action",
            "record_type",
            "record_id",
            "changes",
            "actor_type",
            "actor_id",
            "occurred_at",
        ),
        records=audit,
    )
