import uuid
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from asyncpg import Record
from sqlalchemy import ColumnElement, Select, delete, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.cascade import update_each
from crm_api.companies.service import company_ids_where
from crm_api.consents.service import consented_to
from crm_api.core.archive import change_archived, delete_archived, ensure_archived, ensure_live
from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.db import violated_constraint
from crm_api.core.errors import Conflict, NotFound
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range, record_conditions
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.phones import normalized
from crm_api.core.records import apply_changes, read_owned, sent_values, touch, unique_guard
from crm_api.custom_fields.values import filter_conditions, validated_values
from crm_api.lead_scoring.service import rescore_contact
from crm_api.models import Contact, ContactRfm, Deal, DealContact, ErasedEmail, LifecycleChange
from crm_api.privacy.erased import email_hash

from . import repository
from .schemas import (
    ContactCreate,
    ContactListParams,
    ContactRead,
    ContactUpdate,
    ContactUpsert,
    LifecycleHistoryParams,
)

_OBJECT_FIELDS = frozenset({"address"})
EMAIL_CONSTRAINT = "uq_contacts_email"


def _record_stage(
    session: AsyncSession, principal: Principal, contact: Contact, from_stage: str | None
) -> None:
    session.add(
        LifecycleChange(
            workspace_id=contact.workspace_id,
            contact_id=contact.id,
            from_stage=from_stage,
            to_stage=contact.lifecycle_stage,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
        )
    )


def _email_guard(
    session: AsyncSession, principal: Principal, email: str | None
) -> AbstractAsyncContextManager[None]:
    return unique_guard(
        session,
        constraint=EMAIL_CONSTRAINT,
        field="email",
        find_existing=lambda: repository.find_by_email(
            session, principal.workspace_id, email or ""
        ),
    )


async def _new_contact(session: AsyncSession, principal: Principal, data: ContactCreate) -> Contact:
    if data.email and not data.reimport_erased:
        erased = await session.scalar(
            select(ErasedEmail.erased_at).where(
                ErasedEmail.workspace_id == principal.workspace_id,
                ErasedEmail.email_hash == email_hash(data.email),
            )
        )
        if erased is not None:
            raise Conflict(
                "A person with this email was erased; send reimport_erased: true to create "
                "the contact again."
            )
    values = data.model_dump(exclude={"custom_fields", "reimport_erased"}, exclude_none=True)
    values["custom_fields"] = await validated_values(
        session, principal.workspace_id, "contact", None, data.custom_fields
    )
    return Contact(workspace_id=principal.workspace_id, **values)


async def _created(session: AsyncSession, principal: Principal, contact: Contact) -> None:
    _record_stage(session, principal, contact, None)
    await rescore_contact(session, contact)
    record_event(
        session, principal, "contact.created", contact.id, ContactRead.model_validate(contact)
    )


async def create_contact(
    session: AsyncSession, principal: Principal, data: ContactCreate
) -> Contact:
    contact = await _new_contact(session, principal, data)
    async with _email_guard(session, principal, contact.email):
        session.add(contact)
    await _created(session, principal, contact)
    return contact


async def get_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, *, for_update: bool = False
) -> Contact:
    contact = await repository.get_contact(
        session, principal.workspace_id, contact_id, for_update=for_update
    )
    if contact is None:
        raise NotFound(f"No contact {contact_id}.")
    return contact


async def read_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID
) -> ContactRead:
    """GET /v1/contacts/{id}: one prepared statement, no ORM object."""
    row = await read_owned(session, repository.READ_CONTACT, principal, contact_id, "contact")
    return ContactRead.model_validate(row)


async def change_contact(
    session: AsyncSession, principal: Principal, contact: Contact, changes: dict[str, Any]
) -> Contact:
    """Every change to a contact's fields, from any path (PATCH, upsert, a won deal, a merge):
    custom fields validated, email uniqueness, lifecycle history, lead score, event and audit."""
    if not changes:
        return contact
    before = ContactRead.model_validate(contact).model_dump(mode="json")
    if "custom_fields" in changes:
        changes["custom_fields"] = await validated_values(
            session,
            principal.workspace_id,
            "contact",
            contact.custom_fields,
            changes["custom_fields"],
        )
    previous_stage = contact.lifecycle_stage
    async with _email_guard(session, principal, changes.get("email", contact.email)):
        apply_changes(contact, changes, _OBJECT_FIELDS)
        touch(contact)
    if contact.lifecycle_stage != previous_stage:
        _record_stage(session, principal, contact, previous_stage)
    await rescore_contact(session, contact)
    after = ContactRead.model_validate(contact)
    record_update(session, principal, "contact.updated", contact.id, before, after)
    return contact


async def promote_to_customer(
    session: AsyncSession, principal: Principal, contact_ids: Sequence[uuid.UUID]
) -> None:
    """Winning a deal makes its contacts customers, each change kept in the lifecycle history."""
    for contact_id in contact_ids:
        contact = await get_contact(session, principal, contact_id, for_update=True)
        if contact.lifecycle_stage != "customer" and contact.archived_at is None:
            await change_contact(session, principal, contact, {"lifecycle_stage": "customer"})


async def update_contact(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    data: ContactUpdate,
    if_match: IfMatch,
) -> Contact:
    contact = await get_contact(session, principal, contact_id, for_update=True)
    if_match.check(contact.version)
    ensure_live(contact)
    return await change_contact(session, principal, contact, sent_values(data, _OBJECT_FIELDS))


async def upsert_contact(
    session: AsyncSession, principal: Principal, data: ContactUpsert
) -> tuple[Contact, bool]:
    """Create the contact with this email, or update the one that has it. True when created.

    Concurrent upserts of one email serialise on the unique index: the losers' inserts fail in a
    savepoint, and they update the winner's row instead.
    """
    existing = await repository.find_by_email(
        session, principal.workspace_id, data.email, for_update=True
    )
    if existing is None:
        contact = await _new_contact(session, principal, data)
        try:
            async with session.begin_nested():
                session.add(contact)
                await session.flush()
        except IntegrityError as exc:
            if violated_constraint(exc)[0] != EMAIL_CONSTRAINT:
                raise
        else:
            await _created(session, principal, contact)
            return contact, True
        existing = await repository.find_by_email(
            session, principal.workspace_id, data.email, for_update=True
        )
        assert existing is not None  # the insert that beat ours has committed
    ensure_live(existing)
    changes = sent_values(data, _OBJECT_FIELDS)
    changes.pop("reimport_erased", None)
    return await change_contact(session, principal, existing, changes), False


def _conditions(principal: Principal, params: ContactListParams) -> list[ColumnElement[bool]]:
    workspace_id = principal.workspace_id
    conditions = record_conditions(Contact, params)
    if params.q is not None:
        companies = company_ids_where(workspace_id, q=params.q)
        conditions.append(
            Contact.id.in_(repository.ids_matching(workspace_id, params.q, companies))
        )
    exact: Sequence[tuple[Any, Any]] = (
        (Contact.first_name, params.first_name),
        (Contact.last_name, params.last_name),
        (Contact.job_title, params.job_title),
        (Contact.lead_source, params.lead_source),
        (Contact.owner_id, params.owner_id),
        (Contact.company_id, params.company_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    conditions += in_range(Contact.lead_score, params.lead_score_gte, params.lead_score_lte)
    if params.email is not None:
        conditions.append(func.lower(Contact.email) == params.email.lower())
    if params.phone is not None:
        # Compared in E.164, however either side was typed ("+44 (0)20-7946-0958").
        wanted = normalized([{"number": params.phone}])
        conditions.append(Contact.phones_e164.contains(wanted) if wanted else false())
    if params.lifecycle_stage:
        conditions.append(Contact.lifecycle_stage.in_(params.lifecycle_stage))
    if params.company_industry is not None or params.company_domain is not None:
        companies = company_ids_where(
            workspace_id, industry=params.company_industry, domain=params.company_domain
        )
        conditions.append(Contact.company_id.in_(companies))
    if params.consented_to:
        conditions += consented_to(workspace_id, list(params.consented_to))
    if params.rfm_segment:
        conditions.append(
            Contact.id.in_(
                select(ContactRfm.contact_id).where(
                    ContactRfm.workspace_id == workspace_id,
                    ContactRfm.segment.in_(params.rfm_segment),
                )
            )
        )
    return conditions


def contact_ids_named(principal: Principal, q: str) -> Select[uuid.UUID]:
    """Ids of the workspace's contacts whose names or email match ``q``, for filters on
    related records (an order's buyer)."""
    return repository.ids_named(principal.workspace_id, q)


async def list_contacts(
    session: AsyncSession, principal: Principal, params: ContactListParams
) -> tuple[list[Record], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions = _conditions(principal, params)
    conditions += await filter_conditions(
        session, principal.workspace_id, "contact", Contact.custom_fields, params.model_extra or {}
    )
    rows = await repository.list_contacts(session, principal.workspace_id, conditions, params, sort)
    return page_of(rows, sort, params)


async def count_contacts(
    session: AsyncSession, principal: Principal, params: ContactListParams
) -> int:
    """How many contacts the list's filters match, counted in SQL."""
    conditions = _conditions(principal, params)
    conditions += await filter_conditions(
        session, principal.workspace_id, "contact", Contact.custom_fields, params.model_extra or {}
    )
    count = await session.scalar(
        select(func.count())
        .select_from(Contact)
        .where(Contact.workspace_id == principal.workspace_id, *conditions)
    )
    return int(count or 0)


async def archive_contact(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    if_match: IfMatch,
    *,
    archived: bool,
) -> Contact:
    contact = await get_contact(session, principal, contact_id, for_update=True)
    await change_archived(
        session,
        principal,
        contact,
        if_match,
        archived=archived,
        resource="contact",
        snapshot=ContactRead.model_validate,
    )
    return contact


async def delete_contact(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, if_match: IfMatch
) -> None:
    contact = await get_contact(session, principal, contact_id, for_update=True)
    if_match.check(contact.version)
    ensure_archived(contact)
    await leave_deals(session, principal, contact.id)
    await delete_archived(
        session,
        principal,
        contact,
        if_match,
        resource="contact",
        snapshot=ContactRead.model_validate,
    )


def deals_of(workspace_id: uuid.UUID, contact_id: uuid.UUID) -> Select[uuid.UUID]:
    return select(DealContact.deal_id).where(
        DealContact.workspace_id == workspace_id, DealContact.contact_id == contact_id
    )


async def leave_deals(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID, to: uuid.UUID | None = None
) -> int:
    """The contact leaves every deal it is on, for the contact ``to`` if given (who keeps their
    own link where they already had one). Each deal gets a new version and a `deal.updated`
    event, as any change to what its read shows. Returns how many links went to ``to``."""
    workspace_id, moved = principal.workspace_id, 0

    async def relink(deal: Deal) -> None:
        nonlocal moved
        link = (DealContact.workspace_id == workspace_id, DealContact.deal_id == deal.id)
        taken = to is not None and await session.scalar(
            select(DealContact.contact_id).where(*link, DealContact.contact_id == to)
        )
        if to is None or taken:
            await session.execute(
                delete(DealContact).where(*link, DealContact.contact_id == contact_id)
            )
        else:
            await session.execute(
                update(DealContact)
                .where(*link, DealContact.contact_id == contact_id)
                .values(contact_id=to)
                .execution_options(synchronize_session=False)
            )
            moved += 1

    await update_each(
        session, principal, "deal", Deal, Deal.id.in_(deals_of(workspace_id, contact_id)), relink
    )
    return moved


async def lifecycle_history(
    session: AsyncSession,
    principal: Principal,
    contact_id: uuid.UUID,
    params: LifecycleHistoryParams,
) -> tuple[list[LifecycleChange], str | None]:
    await get_contact(session, principal, contact_id)
    sort = parse_sort(params.sort, repository.HISTORY_SORTABLE)
    rows = await repository.lifecycle_history(
        session, principal.workspace_id, contact_id, params, sort
    )
    return page_of(rows, sort, params)
