"""What a chunk's writes record: a ``<resource>.created`` or ``.updated`` event a record, an
audit entry an event, and the resource's history, as a ``POST`` or ``PATCH`` would make them.

For a resource with ``read_sql`` (contacts) PostgreSQL builds them from the staging table and
the written rows (``INSERT ... SELECT``): the rows never come back to Python. The others still
read their rows back and build their events here in Python.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, get_origin

import asyncpg
import orjson
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.events import SECRET_PARTS, audited_changes, changed_fields, is_secret
from crm_api.core.ids import new_id

from .read_json import is_model, without_none
from .resource import Resource, written_rows

_EVENT_COLUMNS = "workspace_id, id, type, resource_type, resource_id, data, previous, "
_AUDIT_COLUMNS = "workspace_id, id, action, record_type, record_id, changes, "
_WHO = "actor_type, actor_id, occurred_at"
_NOT_AUDITED = ("updated_at", "version")


@dataclass(slots=True)
class Written:
    created: list[uuid.UUID]
    updated: list[uuid.UUID] = field(default_factory=list)
    # The updated records' rows before the update, for a resource recorded in Python.
    before: dict[uuid.UUID, Any] = field(default_factory=dict)


async def record(
    session: AsyncSession,
    raw: asyncpg.Connection,
    principal: Principal,
    resource: Resource,
    written: Written,
    now: Any,
) -> None:
    more: list[tuple[str, uuid.UUID]] = []
    before = written.before or dict.fromkeys(written.updated)
    if resource.before_read is not None:
        more += await resource.before_read(session, raw, principal, written.created, before, {})
    if resource.read_sql is not None:
        assert not more, "a resource recorded in SQL records no events besides its writes'"
        who = (principal.workspace_id, now, principal.actor_type, principal.actor_id)
        await raw.execute(_events_sql(resource), *who)
        if resource.history_sql is not None:
            await raw.execute(resource.history_sql, *who)
        return
    after = {
        row.id: row
        for row in (
            await session.execute(
                text(
                    f"SELECT * FROM {resource.table} "
                    "WHERE workspace_id = :workspace AND id = ANY(:ids)"
                ),
                {"workspace": principal.workspace_id, "ids": [*written.created, *written.updated]},
            )
        ).all()
    }
    if resource.after_read is not None:
        more += await resource.after_read(session, raw, principal, written.created, before, after)
    await _record_in_python(raw, principal, resource, written.before, after, more, now)


def _events_sql(resource: Resource) -> str:
    """The events and audit entries of the staged rows written ($1 the workspace, $2 now, $3
    and $4 the actor), in the file's order. An update's event names the previous value of
    each field that changed (``changed_fields``); audit entries as ``audited_changes``."""
    assert resource.read_schema is not None
    event = resource.event
    kind = f"CASE WHEN created THEN '{event}.created' ELSE '{event}.updated' END"
    set_by_creation = ", ".join(
        f"'{name}', jsonb_build_object('old', NULL, 'new', "
        f"{_audited(name, info, _member('data', name))})"
        for name, info in resource.read_schema.model_fields.items()
        if name not in _NOT_AUDITED
    )
    changed_by_update = (
        "(SELECT coalesce(jsonb_object_agg(p.key, jsonb_build_object("
        f"'old', {_redacted_by_key('p.key', 'p.value', resource.read_schema)}, "
        f"'new', {_redacted_by_key('p.key', 'data -> p.key', resource.read_schema)})), '{{}}') "
        f"FROM jsonb_each(previous) p WHERE p.key NOT IN {_NOT_AUDITED!r})"
    )
    return (
        f"WITH written AS MATERIALIZED (SELECT s.row_number, t.id, {resource.read_sql} AS data, "
        f"s.before, s.event_id, s.audit_id FROM {written_rows(resource.table)}), "
        "changes AS (SELECT row_number, id, event_id, audit_id, data, before IS NULL AS created, "
        "CASE WHEN before IS NOT NULL THEN (SELECT coalesce(jsonb_object_agg(b.key, b.value), "
        "'{}') FROM jsonb_each(before) b WHERE data -> b.key IS DISTINCT FROM b.value) END "
        "AS previous FROM written), "
        f"events AS (INSERT INTO events ({_EVENT_COLUMNS}{_WHO}) SELECT $1, event_id, "
        f"{kind}, '{event}', id, data, previous, $3, $4, $2 FROM changes ORDER BY row_number) "
        f"INSERT INTO audit_log ({_AUDIT_COLUMNS}{_WHO}) SELECT $1, audit_id, {kind}, "
        f"'{event}', id, CASE WHEN created THEN jsonb_build_object({set_by_creation}) "
        f"ELSE {changed_by_update} END, $3, $4, $2 FROM changes ORDER BY row_number"
    )


_REDACTED = "'\"[redacted]\"'::jsonb"
_SECRET_KEY = "lower({}) ~ '(" + "|".join(SECRET_PARTS) + ")'"


def _audited(name: str, info: FieldInfo, value: str) -> str:
    """A field's value as the audit log keeps it (``core.events._redacted``): a secret field's
    redacted, an object's secret members redacted."""
    if is_secret(name):
        return _REDACTED
    kind = without_none(info.annotation)
    may_nest = kind is Any or kind is dict or get_origin(kind) is dict or is_model(kind)
    return _members_redacted(value) if may_nest else value


def _members_redacted(value: str) -> str:
    """Objects nest one level in what ``read_sql`` builds (an address, custom fields of plain
    values), so that is as deep as this looks."""
    members = (
        f"(SELECT jsonb_object_agg(m.key, CASE WHEN {_SECRET_KEY.format('m.key')} "
        f"THEN {_REDACTED} ELSE m.value END) FROM jsonb_each({value}) m)"
    )
    # Most objects have no member worth a look: their text says so at once.
    return (
        f"CASE WHEN jsonb_typeof({value}) = 'object' AND ({value})::text ~* "
        f"'({'|'.join(SECRET_PARTS)})' THEN {members} ELSE {value} END"
    )


def _redacted_by_key(key: str, value: str, schema: type[BaseModel]) -> str:
    """``_audited`` for the fields an update changed, named by ``key`` in SQL."""
    secret = ", ".join(f"'{name}'" for name in schema.model_fields if is_secret(name))
    redacted = _members_redacted(value)
    if not secret:
        return redacted
    return f"CASE WHEN {key} IN ({secret}) THEN {_REDACTED} ELSE {redacted} END"


def _member(value: str, name: str) -> str:
    return f"{value} -> '{name}'"


async def _record_in_python(
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
    who = (principal.actor_type, principal.actor_id, now)
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
        head = (principal.workspace_id, new_id(), event_type, resource.event, record_id)
        events.append((*head, _json(data), None if previous is None else _json(previous), *who))
        audit.append((*head, _json(audited_changes(event_type, data, previous)), *who))
    await raw.copy_records_to_table(
        "events", columns=(*_EVENT_COLUMNS.split(", ")[:-1], *_WHO.split(", ")), records=events
    )
    await raw.copy_records_to_table(
        "audit_log", columns=(*_AUDIT_COLUMNS.split(", ")[:-1], *_WHO.split(", ")), records=audit
    )


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()
