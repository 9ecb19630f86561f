"""Lead scores: the sum of the workspace's rules' points, kept on each contact.

A contact's score is recomputed, in SQL, in the transaction of every change to its inputs: the
contact itself, its company, or its interactions; every score of the workspace is recomputed
when a rule changes, and by the worker every hour, as interactions age out of their windows.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.events import record_event, record_update
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, get_owned, sent_values, touch
from crm_api.models import Company, Contact, Interaction, LeadScoringRule
from crm_api.models.base import utcnow

from . import repository
from .schemas import AttributeRule, InteractionRule, RuleListParams, RuleRead, RuleUpdate


def _attribute(rule: LeadScoringRule) -> ColumnElement[Any]:
    field = rule.field or ""
    column: ColumnElement[Any]
    if field == "email_domain":
        column = func.lower(func.split_part(Contact.email, "@", 2))
    elif field == "company_industry":
        column = (
            select(Company.industry)
            .where(Company.workspace_id == Contact.workspace_id, Company.id == Contact.company_id)
            .scalar_subquery()
        )
    elif field.startswith("custom_fields."):
        column = Contact.custom_fields[field.removeprefix("custom_fields.")].astext
    else:
        column = getattr(Contact, field)
    if rule.operator == "is_set":
        return column.is_not(None)
    if rule.operator == "in":
        return column.in_(list(rule.value or ()))
    expected = str(rule.value).lower() if field == "email_domain" else str(rule.value)
    matches: ColumnElement[Any] = column == expected
    return matches


def _points(rule: LeadScoringRule, now: Any) -> ColumnElement[Any]:
    if rule.kind == "attribute":
        return case((_attribute(rule), rule.points), else_=0)
    conditions = [
        Interaction.workspace_id == Contact.workspace_id,
        Interaction.contact_id == Contact.id,
        Interaction.kind == rule.interaction_kind,
        Interaction.occurred_at >= now - func.make_interval(0, 0, 0, rule.within_days),
        Interaction.occurred_at <= now,
    ]
    if rule.direction != "any":
        conditions.append(Interaction.direction == rule.direction)
    matches = select(func.count()).where(*conditions).scalar_subquery()
    return func.least(matches, rule.max_count) * rule.points


async def rescore(
    session: AsyncSession, workspace_id: uuid.UUID, contact_ids: Sequence[uuid.UUID] | None = None
) -> bool:
    """Recompute the scores of these contacts (all of the workspace's when None), in one UPDATE;
    whether any score could have moved (False: no rules, nothing ran)."""
    rules = await repository.rules_of(session, workspace_id)
    if not rules and contact_ids is not None:
        return False  # nothing scores, and every contact already has 0
    now = literal(utcnow())
    score: ColumnElement[Any] = literal(0)
    for rule in rules:
        score = score + _points(rule, now)
    await session.flush()
    await repository.set_scores(session, workspace_id, cast(score, Integer), contact_ids)
    return True


async def rescore_contact(session: AsyncSession, contact: Contact) -> None:
    """After a change to the contact (or its activity): its score, also on the loaded object."""
    if await rescore(session, contact.workspace_id, [contact.id]):
        await session.refresh(contact, ["lead_score", "version"])


async def rescore_all(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """The worker's hourly job: workspaces with interaction rules, whose scores age."""
    async with sessionmaker() as session:
        workspace_ids = await repository.workspaces_with_aging_rules(session)
    for workspace_id in workspace_ids:
        async with sessionmaker() as session, session.begin():
            await rescore(session, workspace_id)
    return len(workspace_ids)


async def create_rule(
    session: AsyncSession, principal: Principal, data: AttributeRule | InteractionRule
) -> LeadScoringRule:
    rule = LeadScoringRule(workspace_id=principal.workspace_id, id=new_id(), **data.model_dump())
    session.add(rule)
    await session.flush()
    await rescore(session, principal.workspace_id)
    record_event(
        session, principal, "lead_scoring_rule.created", rule.id, RuleRead.model_validate(rule)
    )
    return rule


async def get_rule(
    session: AsyncSession, principal: Principal, rule_id: uuid.UUID, *, for_update: bool = False
) -> LeadScoringRule:
    return await get_owned(
        session, LeadScoringRule, principal, rule_id, "lead scoring rule", for_update=for_update
    )


async def list_rules(
    session: AsyncSession, principal: Principal, params: RuleListParams
) -> tuple[list[LeadScoringRule], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_rules(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def update_rule(
    session: AsyncSession,
    principal: Principal,
    rule_id: uuid.UUID,
    data: RuleUpdate,
    if_match: IfMatch,
) -> LeadScoringRule:
    rule = await get_rule(session, principal, rule_id, for_update=True)
    if_match.check(rule.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return rule
    before = RuleRead.model_validate(rule).model_dump(mode="json")
    apply_changes(rule, changes, frozenset())
    touch(rule)
    await session.flush()
    await rescore(session, principal.workspace_id)
    after = RuleRead.model_validate(rule)
    record_update(session, principal, "lead_scoring_rule.updated", rule.id, before, after)
    return rule


async def delete_rule(
    session: AsyncSession, principal: Principal, rule_id: uuid.UUID, if_match: IfMatch
) -> None:
    rule = await get_rule(session, principal, rule_id, for_update=True)
    if_match.check(rule.version)
    read = RuleRead.model_validate(rule)
    await session.delete(rule)
    await session.flush()
    await rescore(session, principal.workspace_id)
    record_event(session, principal, "lead_scoring_rule.deleted", rule.id, read)


async def rescore_company_contacts(
    session: AsyncSession, workspace_id: uuid.UUID, company_id: uuid.UUID
) -> None:
    ids = await repository.contact_ids_of_company(session, workspace_id, company_id)
    if ids:
        await rescore(session, workspace_id, ids)
