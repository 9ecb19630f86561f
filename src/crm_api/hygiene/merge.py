"""Merging one contact (the source) into another (the target), in one transaction.

Everything that points at the source moves to the target: interactions, tasks, tickets (as
requester), orders, survey answers, consents, lifecycle history and deal links (a deal linked
to both keeps the target's link). The source's portal account moves if the target has none.
The target keeps its own values except for the fields the caller takes from the source, and
fills its empty fields from the source; it keeps every email address of both (the ones not
primary as additional emails) and the union of their tags. Its changes go through the same path
as a PATCH (lifecycle history, lead score, `contact.updated`, audit). The source is then
deleted; the merge is recorded in `contact_merges` with the source as it was, and
`contact.merged` is emitted.
"""

import uuid
from typing import Any, Literal

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.contacts.schemas import ContactRead
from crm_api.contacts.service import change_contact, get_contact, leave_deals
from crm_api.core.archive import ensure_live
from crm_api.core.auth import Principal
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event
from crm_api.core.ids import new_id
from crm_api.core.schemas import InputSchema, ReadSchema
from crm_api.models import Contact, ContactMerge
from crm_api.models.base import utcnow
from crm_api.rfm.service import mark_stale

from . import repository

MERGEABLE = (
    "first_name",
    "last_name",
    "email",
    "additional_emails",
    "phones",
    "job_title",
    "lifecycle_stage",
    "lead_source",
    "owner_id",
    "company_id",
    "address",
    "tags",
    "custom_fields",
)
Field_ = Literal[
    "first_name",
    "last_name",
    "email",
    "additional_emails",
    "phones",
    "job_title",
    "lifecycle_stage",
    "lead_source",
    "owner_id",
    "company_id",
    "address",
    "tags",
    "custom_fields",
]


class MergeRequest(InputSchema):
    source_id: uuid.UUID = Field(description="The duplicate, merged into this contact and gone.")
    take_from_source: list[Field_] = Field(
        default_factory=list,
        description="Fields whose value comes from the source; the others keep the target's "
        "(empty ones are filled from the source).",
    )


class MergeRead(ReadSchema):
    id: uuid.UUID
    target_id: uuid.UUID
    source_id: uuid.UUID
    moved: dict[str, int]
    contact: ContactRead


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _union(*lists: list[str] | None, key: Any = str.lower) -> list[str]:
    """The items of every list, first occurrence first, without repeats (by ``key``)."""
    seen: set[str] = set()
    kept = []
    for item in (item for items in lists for item in items or ()):
        if key(item) not in seen:
            seen.add(key(item))
            kept.append(item)
    return kept


def merged_changes(
    target: dict[str, Any], source: dict[str, Any], take_from_source: list[str]
) -> dict[str, Any]:
    """The target's changes: fields taken from the source or filling the target's empty ones;
    every email of both kept; the union of the tags."""
    changes = {
        name: source[name]
        for name in MERGEABLE
        if name in take_from_source or (_empty(target[name]) and not _empty(source[name]))
    }
    primary = changes.get("email", target["email"])
    emails = _union(
        [target["email"]] if target["email"] else [],
        target["additional_emails"],
        [source["email"]] if source["email"] else [],
        source["additional_emails"],
    )
    additional = [email for email in emails if not primary or email.lower() != primary.lower()]
    if additional != (target["additional_emails"] or []):
        changes["additional_emails"] = additional
    tags = _union(target["tags"], source["tags"], key=lambda tag: tag)
    if tags != (target["tags"] or []):
        changes["tags"] = tags
    return changes


async def _locked(
    session: AsyncSession, principal: Principal, target_id: uuid.UUID, source_id: uuid.UUID
) -> tuple[Contact, Contact]:
    """The target and the source, locked in id order so two merges of a pair cannot deadlock.

    An absent target (the path's record) is a 404; an absent source, or another workspace's, is
    a 422 naming `source_id`, as any other id in a body that names no record of the workspace.
    """
    locked: dict[uuid.UUID, Contact] = {}
    for contact_id in sorted((target_id, source_id)):
        try:
            locked[contact_id] = await get_contact(session, principal, contact_id, for_update=True)
        except NotFound:
            if contact_id == target_id:
                raise
            raise invalid_field(["body", "source_id"], "no such contact", "not_found") from None
    return locked[target_id], locked[source_id]


async def _move_records(
    session: AsyncSession, principal: Principal, source: Contact, target: Contact
) -> dict[str, int]:
    """Everything that named the source names the target; by kind, how many moved."""
    ws = principal.workspace_id
    moved = {
        name: await repository.move(session, ws, owner, source.id, target.id)
        for name, owner in repository.OWNED.items()
    }
    # Each deal the source was on shows the target instead: a new version and an update event.
    moved["deal_links"] = await leave_deals(session, principal, source.id, to=target.id)
    if not await repository.has_portal_account(session, ws, target.id):
        moved["portal_accounts"] = await repository.move(
            session, ws, repository.PORTAL_ACCOUNT, source.id, target.id
        )
    await repository.forget_rfm(session, ws, source.id)
    return moved


async def merge_contacts(
    session: AsyncSession, principal: Principal, target_id: uuid.UUID, data: MergeRequest
) -> MergeRead:
    if data.source_id == target_id:
        raise invalid_field(["body", "source_id"], "a contact cannot be merged into itself")
    target, source = await _locked(session, principal, target_id, data.source_id)
    ensure_live(target)
    snapshot = ContactRead.model_validate(source).model_dump(mode="json")
    moved = await _move_records(session, principal, source, target)
    changes = merged_changes(
        {name: getattr(target, name) for name in MERGEABLE},
        {name: getattr(source, name) for name in MERGEABLE},
        list(data.take_from_source),
    )
    await session.delete(source)
    await session.flush()  # the source's email is free before the target may take it
    await change_contact(session, principal, target, changes)
    await mark_stale(session, principal.workspace_id)
    merge_id = new_id()
    session.add(
        ContactMerge(
            workspace_id=principal.workspace_id,
            id=merge_id,
            target_id=target.id,
            source_id=source.id,
            source=snapshot,
            moved=moved,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
            merged_at=utcnow(),
        )
    )
    after = ContactRead.model_validate(target)
    answer = MergeRead(
        id=merge_id, target_id=target.id, source_id=source.id, moved=moved, contact=after
    )
    record_event(
        session, principal, "contact.deleted", source.id, ContactRead.model_validate(snapshot)
    )
    record_event(session, principal, "contact.merged", target.id, answer)
    return answer
