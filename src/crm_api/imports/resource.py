"""The shape of what an import of one resource writes (see ``resources`` for each resource):
its table and natural key, the statements that check its staged rows, and its side effects.
"""

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.custom_fields.schemas import CustomFieldEntity
from crm_api.privacy.erased import email_hash

from .read_json import read_json_sql
from .sources import Fields

# (session, raw connection, principal, created ids, {id: row before} of updated ones,
#  {id: row after} of every written one) -> more events to record: (type, record id)
AfterWrite = Callable[
    [
        AsyncSession,
        asyncpg.Connection,
        Principal,
        Sequence[uuid.UUID],
        Mapping[uuid.UUID, Any],
        Mapping[uuid.UUID, Any],
    ],
    Awaitable[Sequence[tuple[str, uuid.UUID]]],
]


@dataclass(frozen=True)
class StagedStep:
    """A statement on the staging table before the insert ($1 the workspace, $2 now). With a
    ``refusal``, it deletes rows and returns their row_number: those rows fail with it."""

    sql: str
    refusal: str | None = None
    loc: tuple[str, ...] = ()


class LinkProblem(ValueError):
    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field = field
        self.msg = msg


@dataclass(frozen=True)
class Link:
    """A field that names a linked record the way an export writes it (a company's domain, a
    stage's name), so a file from another workspace links again: the import looks it up in
    this workspace and sets ``column`` from it, in place of any id the row gives."""

    field: str
    column: str
    normalize: Callable[[str], str] = lambda value: value


def link_steps(link: Link, table: str, match: str, refusal: str) -> tuple[StagedStep, StagedStep]:
    """Resolve ``link`` against ``table`` (alias t; ``match`` compares t to the staged row s),
    then refuse the rows whose name matched nothing."""
    found = f"t.workspace_id = $1 AND s.{link.field} IS NOT NULL AND {match}"
    return (
        StagedStep(f"UPDATE import_stage s SET {link.column} = t.id FROM {table} t WHERE {found}"),
        StagedStep(
            f"DELETE FROM import_stage s WHERE s.{link.field} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {table} t WHERE {found}) "
            f"RETURNING s.row_number, left(s.{link.field}, 200) AS value",
            refusal,
            (link.field,),
        ),
    )


@dataclass(frozen=True)
class Resource:
    name: str
    table: str
    entity: CustomFieldEntity
    event: str  # the event type's prefix: "contact"
    create: type[BaseModel]
    upsert: type[BaseModel]
    read: Callable[[Any], BaseModel]
    fields: Fields
    # The columns an import writes, besides workspace_id, id, timestamps and version.
    columns: tuple[str, ...]
    # A field sent -> the columns it sets.
    field_columns: Mapping[str, tuple[str, ...]]
    # The natural key: its field, and how a row of the table spells it for comparison; None
    # for a resource without one (create only).
    key: str | None
    key_sql: str | None
    conflict_target: str | None
    # column -> (the table whose id it must name in the workspace, what a row of it is called)
    references: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Columns an update merges (objects: RFC 7396 at the top level) rather than replaces.
    merged: frozenset[str] = frozenset({"address", "custom_fields"})
    jsonb: frozenset[str] = frozenset({"address", "custom_fields"})
    # Remembered erasures refuse the key unless the job says otherwise.
    erasable: bool = False
    # Fields that name a linked record (see Link); resolved by ``steps``.
    links: tuple[Link, ...] = ()
    # Statements on the staging table, in order, before the references are checked.
    steps: tuple[StagedStep, ...] = ()
    # Fields of the create schema an import does not take.
    excluded: frozenset[str] = frozenset()
    # The create schema's values -> the table's columns (money split, derived columns).
    derive: Callable[[dict[str, Any]], dict[str, Any]] = lambda values: values
    before_read: AfterWrite | None = None
    after_read: AfterWrite | None = None
    # The read schema whose JSON events carry, when PostgreSQL can build it from a row (see
    # read_json): the chunk's events and audit entries are then written in SQL (see recorded),
    # with ``history_sql`` ($1 workspace, $2 now, $3 and $4 the actor) for its history.
    read_schema: type[BaseModel] | None = None
    history_sql: str | None = None

    @functools.cached_property
    def read_sql(self) -> str | None:
        return None if self.read_schema is None else read_json_sql(self.read_schema, "t")

    def column_values(self, model: BaseModel) -> dict[str, Any]:
        values = model.model_dump(mode="python", exclude={"reimport_erased", *self.excluded})
        address = getattr(model, "address", None)
        if address is not None:
            # The members the row gave, nulls included: on an update a null removes its member
            # (RFC 7396, as in PATCH), on a creation it is dropped (see merge.insert_values).
            values["address"] = address.model_dump(mode="json", exclude_unset=True)
        return self.derive(values)

    def link_values(self, values: dict[str, Any]) -> dict[str, str]:
        """Take the links out of a row's values (the create schema does not know them),
        normalized; a link that cannot be read raises ValueError naming it."""
        found: dict[str, str] = {}
        for link in self.links:
            value = values.pop(link.field, None)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if not isinstance(value, str):
                raise LinkProblem(link.field, "must be text")
            if "\x00" in value:
                raise LinkProblem(link.field, "must not contain NUL characters")
            try:
                found[link.field] = link.normalize(value)
            except ValueError as exc:
                raise LinkProblem(link.field, str(exc)) from exc
        return found

    def key_of(self, model: BaseModel) -> str | None:
        if self.key is None:
            return None
        value = getattr(model, self.key)
        return None if value is None else str(value).lower()

    def key_hash(self, key: str | None) -> bytes | None:
        return email_hash(key) if self.erasable and key else None


def written_rows(table: str) -> str:
    """The staged rows the chunk's write created or changed, each joined to its record as
    ``t`` ($1 the workspace)."""
    return (
        f"import_stage s JOIN {table} t ON t.workspace_id = $1 "
        "AND t.id = coalesce(s.existing_id, s.id) WHERE s.written"
    )


def writable(schema: type[BaseModel], *left_out: str) -> tuple[str, ...]:
    """The fields of a create schema that an import can set."""
    return tuple(name for name in schema.model_fields if name not in {"reimport_erased", *left_out})


def columns_of(fields: tuple[str, ...], **special: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A field sent -> the columns it sets: its own, unless ``special`` says otherwise."""
    return {name: special.get(name, (name,)) for name in fields}
