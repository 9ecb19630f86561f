"""What an import of each resource writes: its table, natural key, checks, and side effects.

Rows are validated by the API's own create schemas, so an imported record obeys the same rules
as one sent to ``POST``; what a creation does besides (lifecycle or stage history, lead scores,
won/lost events) is done here set-based for the whole chunk.
"""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.companies.schemas import CompanyCreate, CompanyRead, CompanyUpsert, normalize_domain
from crm_api.contacts.schemas import ContactCreate, ContactRead, ContactUpsert
from crm_api.core.auth import Principal
from crm_api.core.ids import new_id
from crm_api.core.phones import normalized
from crm_api.core.records import split_money
from crm_api.deals.schemas import DealCreate, DealRead
from crm_api.lead_scoring.service import rescore

from .resource import Link, Resource, StagedStep, columns_of, link_steps, writable, written_rows
from .sources import Fields


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


# The lifecycle history the conversion KPIs read: a row per creation and per stage change.
_CONTACTS_LIFECYCLE_HISTORY = (
    "INSERT INTO contact_lifecycle_changes (workspace_id, id, contact_id, from_stage, to_stage, "
    "changed_at, actor_type, actor_id) SELECT $1, s.history_id, t.id, s.before ->> "
    f"'lifecycle_stage', t.lifecycle_stage, $2, $3, $4 FROM {written_rows('contacts')} "
    "AND t.lifecycle_stage IS DISTINCT FROM s.before ->> 'lifecycle_stage' ORDER BY s.row_number"
)


_CONTACT_FIELDS = writable(ContactCreate)

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
    field_columns=columns_of(_CONTACT_FIELDS, phones=("phones", "phones_e164")),
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

_COMPANY_FIELDS = writable(CompanyCreate)

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
    field_columns=columns_of(
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


_DEAL_FIELDS = writable(DealCreate, "contacts")

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
    field_columns=columns_of(_DEAL_FIELDS, amount=("amount", "currency")),
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
