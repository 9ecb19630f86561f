"""What an import of each resource writes: its table, natural key, checks, and side effects.

Rows are validated by the API's own create schemas, so an imported record obeys the same rules
as one sent to ``POST``; what a creation does besides (lifecycle or stage history, lead scores,
won/lost events) is done here set-based for the whole chunk.
"""

import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies.schemas import CompanyCreate, CompanyRead, CompanyUpsert, normalize_domain
from crm_api.contacts.schemas import ContactCreate, ContactRead, ContactUpsert
from crm_api.core.auth import Principal
from crm_api.core.ids import new_id
from crm_api.core.phones import normalized
from crm_api.core.records import split_money
from crm_api.custom_fields.schemas import CustomFieldEntity
from crm_api.deals.schemas import DealCreate, DealRead
from crm_api.lead_scoring.service import rescore
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
            values["address"] = address.model_dump(mode="json", exclude_none=True)
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


async def _contacts_rescored(
    session: AsyncSession,
    _raw: asyncpg.Connection,
    principal: Principal,
    created: Sequence[uuid.UUID],
    before: Mapping[uuid.UUID, Any],
    _after: Mapping[uuid.UUID, Any],
) -> Sequence[tuple[str, uuid.UUID]]:
    await rescore(session, principal.workspace_id, [*created, *before])
    return ()


def written_rows(table: str) -> str:
    """The staged rows the chunk's write created or changed, each with its record as ``t``
    ($1 the workspace). Each record is one probe of the primary key (OFFSET 0 keeps the
    lookup from becoming a join): joined, the table was hashed whole for each chunk, 42
    against 18 ms a chunk at 100k contacts, and growing with the table."""
    return (
        f"import_stage s CROSS JOIN LATERAL (SELECT * FROM {table} t WHERE t.workspace_id = $1 "
        "AND t.id = coalesce(s.existing_id, s.id) OFFSET 0) t WHERE s.written"
    )


# The lifecycle history the conversion KPIs read: a row per creation and per stage change.
_CONTACTS_LIFECYCLE_HISTORY = (
    "INSERT INTO contact_lifecycle_changes (workspace_id, id, contact_id, from_stage, to_stage, "
    "changed_at, actor_type, actor_id) SELECT $1, s.history_id, t.id, s.before ->> "
    f"'lifecycle_stage', t.lifecycle_stage, $2, $3, $4 FROM {written_rows('contacts')} "
    "AND t.lifecycle_stage IS DISTINCT FROM s.before ->> 'lifecycle_stage' ORDER BY s.row_number"
)


def _writable(schema: type[BaseModel], *left_out: str) -> tuple[str, ...]:
    """The fields of a create schema that an import can set."""
    return tuple(name for name in schema.model_fields if name not in {"reimport_erased", *left_out})


def _columns_of(fields: tuple[str, ...], **special: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A field sent -> the columns it sets: its own, unless ``special`` says otherwise."""
    return {name: special.get(name, (name,)) for name in fields}


_CONTACT_FIELDS = _writable(ContactCreate)

COMPANY_DOMAIN = Link("company_domain", "company_id", normalize_domain)
# Compared with lower() on both sides in SQL: PostgreSQL's case folding, not Python's.
OWNER_EMAIL = Link("owner_email", "owner_id", str.strip)
_COMPANY_BY_DOMAIN = link_steps(
    COMPANY_DOMAIN,
    "companies",
    "t.domain = s.company_domain",
    "no company with the domain {value} in this workspace",
)
_OWNER_BY_EMAIL = link_steps(
    OWNER_EMAIL,
    "members",
    "lower(t.email) = lower(s.owner_email)",
    "no member with the email {value} in this workspace",
)


def _with_phones_e164(values: dict[str, Any]) -> dict[str, Any]:
    """What the contact model's listener keeps on every ORM write, here for rows copied in."""
    return {**values, "phones_e164": normalized(values["phones"])}


CONTACTS = Resource(
    name="contacts",
    table="contacts",
    entity="contact",
    event="contact",
    create=ContactCreate,
    upsert=ContactUpsert,
    read=ContactRead.model_validate,
    fields=Fields(
        names=frozenset({*_CONTACT_FIELDS, "company_domain", "owner_email"}),
        json_fields=frozenset({"additional_emails", "phones", "address", "tags", "custom_fields"}),
        text_lists=frozenset({"additional_emails", "tags"}),
        phone_lists=frozenset({"phones"}),
    ),
    columns=(*_CONTACT_FIELDS, "phones_e164"),
    field_columns=_columns_of(_CONTACT_FIELDS, phones=("phones", "phones_e164")),
    key="email",
    key_sql="lower({}.email)",
    jsonb=frozenset({"address", "custom_fields", "phones"}),
    conflict_target="(workspace_id, lower(email))",
    references={"company_id": ("companies", "company"), "owner_id": ("members", "member")},
    erasable=True,
    links=(COMPANY_DOMAIN, OWNER_EMAIL),
    steps=(*_COMPANY_BY_DOMAIN, *_OWNER_BY_EMAIL),
    derive=_with_phones_e164,
    before_read=_contacts_rescored,
    read_schema=ContactRead,
    history_sql=_CONTACTS_LIFECYCLE_HISTORY,
)

_COMPANY_FIELDS = _writable(CompanyCreate)

COMPANIES = Resource(
    name="companies",
    table="companies",
    entity="company",
    event="company",
    create=CompanyCreate,
    upsert=CompanyUpsert,
    read=CompanyRead.of,
    fields=Fields(
        names=frozenset(_COMPANY_FIELDS),
        json_fields=frozenset({"annual_revenue", "address", "tags", "custom_fields"}),
        text_lists=frozenset({"tags"}),
        integers=frozenset({"employee_count"}),
    ),
    derive=lambda values: split_money(values, "annual_revenue", "annual_revenue_currency"),
    columns=(
        *(name for name in _COMPANY_FIELDS if name != "annual_revenue"),
        "annual_revenue",
        "annual_revenue_currency",
    ),
    field_columns=_columns_of(
        _COMPANY_FIELDS, annual_revenue=("annual_revenue", "annual_revenue_currency")
    ),
    key="domain",
    key_sql="{}.domain",
    conflict_target="(workspace_id, domain)",
)


async def _deals_stage_history(
    _session: AsyncSession,
    raw: asyncpg.Connection,
    principal: Principal,
    created: Sequence[uuid.UUID],
    _before: Mapping[uuid.UUID, Any],
    after: Mapping[uuid.UUID, Any],
) -> Sequence[tuple[str, uuid.UUID]]:
    """Each new deal's entry into its stage (the history the sales KPIs read), and `deal.won`
    / `deal.lost` for those created in a closed stage, as a creation through the API does."""
    await raw.copy_records_to_table(
        "deal_stage_changes",
        columns=(
            "workspace_id",
            "id",
            "deal_id",
            "from_stage_id",
            "to_stage_id",
            "changed_at",
            "seconds_in_previous_stage",
            "actor_type",
            "actor_id",
        ),
        records=[
            (
                principal.workspace_id,
                new_id(),
                deal_id,
                None,
                after[deal_id].stage_id,
                after[deal_id].stage_changed_at,
                None,
                principal.actor_type,
                principal.actor_id,
            )
            for deal_id in created
        ],
    )
    kinds = {
        record["id"]: record["kind"]
        for record in await raw.fetch(
            "SELECT id, kind FROM pipeline_stages WHERE workspace_id = $1 AND id = ANY($2)",
            principal.workspace_id,
            list({after[deal_id].stage_id for deal_id in created}),
        )
    }
    return [
        (f"deal.{kinds[after[deal_id].stage_id]}", deal_id)
        for deal_id in created
        if kinds.get(after[deal_id].stage_id) in ("won", "lost")
    ]


_DEAL_FIELDS = _writable(DealCreate, "contacts")

PIPELINE_NAME = Link("pipeline_name", "pipeline_id", str.strip)
STAGE_NAME = Link("stage_name", "stage_id", str.strip)

DEALS = Resource(
    name="deals",
    table="deals",
    entity="deal",
    event="deal",
    create=DealCreate,
    upsert=DealCreate,
    read=lambda row: DealRead.of(row, []),
    fields=Fields(
        names=frozenset(
            {*_DEAL_FIELDS, "company_domain", "owner_email", "pipeline_name", "stage_name"}
        ),
        json_fields=frozenset({"amount", "tags", "custom_fields"}),
        text_lists=frozenset({"tags"}),
    ),
    columns=(
        *(name for name in _DEAL_FIELDS if name != "amount"),
        "amount",
        "currency",
        "stage_changed_at",
        "closed_at",
    ),
    field_columns=_columns_of(_DEAL_FIELDS, amount=("amount", "currency")),
    key=None,
    key_sql=None,
    conflict_target=None,
    references={"company_id": ("companies", "company"), "owner_id": ("members", "member")},
    merged=frozenset({"custom_fields"}),
    jsonb=frozenset({"custom_fields"}),
    excluded=frozenset({"contacts"}),
    derive=lambda values: split_money(values, "amount", "currency"),
    links=(COMPANY_DOMAIN, OWNER_EMAIL, PIPELINE_NAME, STAGE_NAME),
    steps=(
        *_COMPANY_BY_DOMAIN,
        *_OWNER_BY_EMAIL,
        *link_steps(
            PIPELINE_NAME,
            "pipelines",
            "t.name = s.pipeline_name",
            "no pipeline named {value} in this workspace",
        ),
        StagedStep(
            "UPDATE import_stage SET pipeline_id = (SELECT p.id FROM pipelines p "
            "WHERE p.workspace_id = $1 ORDER BY p.created_at, p.id LIMIT 1) "
            "WHERE pipeline_id IS NULL"
        ),
        StagedStep(
            "DELETE FROM import_stage s WHERE NOT EXISTS (SELECT 1 FROM pipelines p "
            "WHERE p.workspace_id = $1 AND p.id = s.pipeline_id) RETURNING s.row_number",
            "no such pipeline",
            ("pipeline_id",),
        ),
        *link_steps(
            STAGE_NAME,
            "pipeline_stages",
            "t.pipeline_id = s.pipeline_id AND t.name = s.stage_name",
            "no stage named {value} in the deal's pipeline",
        ),
        StagedStep(
            "UPDATE import_stage s SET stage_id = (SELECT st.id FROM pipeline_stages st "
            "WHERE st.workspace_id = $1 AND st.pipeline_id = s.pipeline_id "
            "ORDER BY st.position LIMIT 1) WHERE s.stage_id IS NULL"
        ),
        StagedStep(
            "DELETE FROM import_stage s WHERE NOT EXISTS (SELECT 1 FROM pipeline_stages st "
            "WHERE st.workspace_id = $1 AND st.pipeline_id = s.pipeline_id "
            "AND st.id = s.stage_id) RETURNING s.row_number",
            "not a stage of the deal's pipeline",
            ("stage_id",),
        ),
        StagedStep(
            "UPDATE import_stage s SET stage_changed_at = $2::timestamptz, "
            "closed_at = CASE WHEN st.kind = 'open' THEN NULL ELSE $2::timestamptz END "
            "FROM pipeline_stages st WHERE st.workspace_id = $1 AND st.id = s.stage_id"
        ),
    ),
    after_read=_deals_stage_history,
)

RESOURCES = {resource.name: resource for resource in (CONTACTS, COMPANIES, DEALS)}
