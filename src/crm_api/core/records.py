"""Changing a versioned record: JSON-merge-patch semantics, version and timestamp bumps."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.db import PreparedQuery, violated_constraint
from crm_api.core.errors import Duplicate, NotFound, field_error
from crm_api.models.base import utcnow


def merge_patch(current: dict[str, Any] | None, patch: dict[str, Any]) -> dict[str, Any]:
    """RFC 7396: keys set to null are removed, objects merge recursively, the rest replaces."""
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def sent_values(data: BaseModel, merged_fields: frozenset[str]) -> dict[str, Any]:
    """The fields the client sent, for a partial update.

    Objects that are merge-patched keep only the keys sent (so a missing key stays untouched);
    every other value is complete, nested defaults included (a phone sent without a label gets
    the default label rather than none).
    """
    sent = data.model_fields_set
    complete = data.model_dump(include=sent - merged_fields)
    merged = data.model_dump(include=sent & merged_fields, exclude_unset=True)
    return {**complete, **merged}


def split_money(changes: dict[str, Any], field: str, currency_column: str) -> dict[str, Any]:
    """A Money input ({amount, currency}) as its two columns: ``field`` and ``currency_column``."""
    if field in changes:
        money = changes.pop(field)
        changes[field] = money["amount"] if money else None
        changes[currency_column] = money["currency"] if money else None
    return changes


def apply_changes(record: Any, changes: dict[str, Any], merged_fields: frozenset[str]) -> None:
    for field, value in changes.items():
        if field in merged_fields and value is not None:
            value = merge_patch(getattr(record, field), value) or None
        setattr(record, field, value)


Record = TypeVar("Record")


async def get_owned(
    session: AsyncSession,
    model: type[Record],
    principal: Principal,
    record_id: uuid.UUID,
    label: str,
    *,
    for_update: bool = False,
) -> Record:
    """The caller's workspace's record by id (locked when asked), or a 404: another
    workspace's record is indistinguishable from none."""
    record = await session.get(
        model, (principal.workspace_id, record_id), with_for_update=for_update
    )
    if record is None:
        raise NotFound(f"No {label} {record_id}.")
    return record


async def read_owned(
    session: AsyncSession,
    query: PreparedQuery,
    principal: Principal,
    record_id: uuid.UUID,
    label: str,
) -> dict[str, Any]:
    """As ``get_owned``, for a prepared read of one row by ``workspace_id`` and ``id``: the
    row's columns, or the same 404."""
    row = await query.fetchrow(session, workspace_id=principal.workspace_id, id=record_id)
    if row is None:
        raise NotFound(f"No {label} {record_id}.")
    return dict(row)


def touch(record: Any) -> None:
    """Mark a record changed: a new version (its ETag) and updated_at."""
    record.version += 1
    record.updated_at = utcnow()


class HasId(Protocol):
    id: uuid.UUID


@asynccontextmanager
async def unique_guard(
    session: AsyncSession,
    *,
    constraint: str,
    field: str,
    find_existing: Callable[[], Awaitable[HasId | None]],
) -> AsyncIterator[None]:
    """Run the changes made in the block, and flush them, in a savepoint; a clash on
    ``constraint`` becomes a 409 naming the record that already holds the value.

    The changes must be made inside the block: SQLAlchemy can only undo a failed flush, and keep
    the transaction usable for looking the other record up, when they belong to the savepoint.
    """
    try:
        async with session.begin_nested():
            yield
            await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc)[0] != constraint:
            raise
        existing = await find_existing()
        existing_id = str(existing.id) if existing is not None else None
        raise Duplicate(
            f"A record with this {field} already exists"
            + (f": {existing_id}." if existing_id else "."),
            existing_id=existing_id,
            errors=[field_error(["body", field], "already exists", "duplicate")],
        ) from exc
