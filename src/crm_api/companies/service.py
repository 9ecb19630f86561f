import uuid
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

from asyncpg import Record
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.cascade import update_each
from crm_api.core.archive import change_archived, delete_archived, ensure_archived, ensure_live
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Duplicate, NotFound
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range, record_conditions, search_condition
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import (
    apply_changes,
    read_owned,
    sent_values,
    split_money,
    touch,
    unique_guard,
)
from crm_api.custom_fields.values import filter_conditions, validated_values
from crm_api.lead_scoring.service import rescore_company_contacts
from crm_api.models import Company, Contact, Deal, Interaction, Task, Ticket

from . import repository
from .schemas import CompanyCreate, CompanyListParams, CompanyRead, CompanyUpdate, CompanyUpsert

_OBJECT_FIELDS = frozenset({"address"})


def _columns(changes: dict[str, Any]) -> dict[str, Any]:
    return split_money(changes, "annual_revenue", "annual_revenue_currency")


def _domain_guard(
    session: AsyncSession, principal: Principal, domain: str | None
) -> AbstractAsyncContextManager[None]:
    return unique_guard(
        session,
        constraint="uq_companies_domain",
        field="domain",
        find_existing=lambda: repository.find_by_domain(
            session, principal.workspace_id, domain or ""
        ),
    )


async def create_company(
    session: AsyncSession, principal: Principal, data: CompanyCreate
) -> Company:
    values = _columns(data.model_dump(exclude={"custom_fields"}))
    values["custom_fields"] = await validated_values(
        session, principal.workspace_id, "company", None, data.custom_fields
    )
    company = Company(workspace_id=principal.workspace_id, **values)
    async with _domain_guard(session, principal, company.domain):
        session.add(company)
    record_event(session, principal, "company.created", company.id, CompanyRead.of(company))
    return company


async def upsert_company(
    session: AsyncSession, principal: Principal, data: CompanyUpsert
) -> tuple[Company, bool]:
    """Create the company with this domain, or update the one that has it (the fields sent, as
    in PATCH). True when created.

    Concurrent upserts of one domain serialise on the unique index, as contacts' do on email:
    the losers' inserts fail in a savepoint, and they update the winner's row instead."""
    existing = await repository.find_by_domain(session, principal.workspace_id, data.domain)
    if existing is None:
        try:
            return await create_company(session, principal, CompanyCreate(**_sent(data))), True
        except Duplicate:
            existing = await repository.find_by_domain(session, principal.workspace_id, data.domain)
            if existing is None:  # pragma: no cover - the winner was deleted meanwhile
                raise
    update = CompanyUpdate(**_sent(data))
    return await update_company(session, principal, existing.id, update, IfMatch(None)), False


def _sent(data: CompanyUpsert) -> dict[str, Any]:
    """The fields sent, with an address's members as sent (a null removes one, as in PATCH)."""
    return sent_values(data, _OBJECT_FIELDS)


async def get_company(
    session: AsyncSession, principal: Principal, company_id: uuid.UUID, *, for_update: bool = False
) -> Company:
    company = await repository.get_company(
        session, principal.workspace_id, company_id, for_update=for_update
    )
    if company is None:
        raise NotFound(f"No company {company_id}.")
    return company


async def read_company(
    session: AsyncSession, principal: Principal, company_id: uuid.UUID
) -> CompanyRead:
    """GET /v1/companies/{id}: one prepared statement, no ORM object."""
    row = await read_owned(session, repository.READ_COMPANY, principal, company_id, "company")
    return CompanyRead.of(row)


def company_ids_where(
    workspace_id: uuid.UUID,
    *,
    q: str | None = None,
    industry: str | None = None,
    domain: str | None = None,
) -> Select[uuid.UUID]:
    """Ids of the workspace's companies matching these, for filters on related records."""
    conditions: list[ColumnElement[bool]] = []
    if q is not None:
        conditions.append(search_condition(Company.search_text, q))
    if industry is not None:
        conditions.append(Company.industry == industry)
    if domain is not None:
        conditions.append(Company.domain == domain.lower())
    return repository.ids_matching(workspace_id, *conditions)


async def list_companies(
    session: AsyncSession, principal: Principal, params: CompanyListParams
) -> tuple[list[Record], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions = record_conditions(Company, params)
    conditions += await filter_conditions(
        session, principal.workspace_id, "company", Company.custom_fields, params.model_extra or {}
    )
    if params.q is not None:
        conditions.append(search_condition(Company.search_text, params.q))
    if params.name is not None:
        conditions.append(Company.name == params.name)
    if params.domain is not None:
        conditions.append(Company.domain == params.domain.lower())
    if params.industry:
        conditions.append(Company.industry.in_(params.industry))
    conditions += in_range(
        Company.employee_count, params.employee_count_gte, params.employee_count_lte
    )
    conditions += in_range(
        Company.annual_revenue, params.annual_revenue_gte, params.annual_revenue_lte
    )
    rows = await repository.list_companies(
        session, principal.workspace_id, conditions, params, sort
    )
    return page_of(rows, sort, params)


async def update_company(
    session: AsyncSession,
    principal: Principal,
    company_id: uuid.UUID,
    data: CompanyUpdate,
    if_match: IfMatch,
) -> Company:
    company = await get_company(session, principal, company_id, for_update=True)
    if_match.check(company.version)
    ensure_live(company)
    changes = sent_values(data, _OBJECT_FIELDS)
    if not changes:
        return company
    before = CompanyRead.of(company).model_dump(mode="json")
    if "custom_fields" in changes:
        changes["custom_fields"] = await validated_values(
            session,
            principal.workspace_id,
            "company",
            company.custom_fields,
            changes["custom_fields"],
        )
    async with _domain_guard(session, principal, changes.get("domain", company.domain)):
        apply_changes(company, _columns(changes), _OBJECT_FIELDS)
        touch(company)
    if "industry" in changes:
        await rescore_company_contacts(session, principal.workspace_id, company.id)
    after = CompanyRead.of(company)
    record_update(session, principal, "company.updated", company.id, before, after)
    return company


async def archive_company(
    session: AsyncSession,
    principal: Principal,
    company_id: uuid.UUID,
    if_match: IfMatch,
    *,
    archived: bool,
) -> Company:
    company = await get_company(session, principal, company_id, for_update=True)
    await change_archived(
        session,
        principal,
        company,
        if_match,
        archived=archived,
        resource="company",
        snapshot=CompanyRead.of,
    )
    return company


async def delete_company(
    session: AsyncSession, principal: Principal, company_id: uuid.UUID, if_match: IfMatch
) -> None:
    """Delete an archived company for good. Its contacts, deals, tickets and activities stay,
    without a company, each with its update event."""
    company = await get_company(session, principal, company_id, for_update=True)
    if_match.check(company.version)
    ensure_archived(company)

    def unlink(record: Any) -> None:
        record.company_id = None

    for resource, model in (
        ("contact", Contact),
        ("deal", Deal),
        ("ticket", Ticket),
        ("interaction", Interaction),
        ("task", Task),
    ):
        await update_each(
            session, principal, resource, model, model.company_id == company.id, unlink
        )
    await delete_archived(
        session, principal, company, if_match, resource="company", snapshot=CompanyRead.of
    )


async def domains_of(
    session: AsyncSession, principal: Principal, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str | None]:
    """Each company's domain: what names a company in any workspace (an export's link)."""
    wanted = sorted({company_id for company_id in ids if company_id is not None})
    return await repository.domains_of(session, principal.workspace_id, wanted) if wanted else {}
