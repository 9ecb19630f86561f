"""Lead scoring's queries: the rules, and the scores they set on contacts."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Contact, LeadScoringRule

from .schemas import RuleListParams

SORTABLE = {"created_at": LeadScoringRule.created_at}


async def rules_of(session: AsyncSession, workspace_id: uuid.UUID) -> Sequence[LeadScoringRule]:
    return (
        await session.scalars(
            select(LeadScoringRule).where(LeadScoringRule.workspace_id == workspace_id)
        )
    ).all()


async def list_rules(
    session: AsyncSession, workspace_id: uuid.UUID, params: RuleListParams, sort: Sort
) -> Sequence[LeadScoringRule]:
    statement = select(LeadScoringRule).where(LeadScoringRule.workspace_id == workspace_id)
    return (await session.scalars(paginate(statement, LeadScoringRule.id, sort, params))).all()


async def set_scores(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    score: ColumnElement[Any],
    contact_ids: Sequence[uuid.UUID] | None,
) -> None:
    """Contacts (all of the workspace's when None) whose ``score`` differs from theirs take
    it, and a new version: a GET shows the score, so its ETag must change with it."""
    statement = update(Contact).where(
        Contact.workspace_id == workspace_id, Contact.lead_score.is_distinct_from(score)
    )
    if contact_ids is not None:
        statement = statement.where(Contact.id.in_(contact_ids))
    await session.execute(
        statement.values(lead_score=score, version=Contact.version + 1).execution_options(
            synchronize_session=False
        )
    )


async def workspaces_with_aging_rules(session: AsyncSession) -> Sequence[uuid.UUID]:
    """Workspaces with interaction rules, whose scores change as interactions age."""
    return (
        await session.scalars(
            select(LeadScoringRule.workspace_id)
            .where(LeadScoringRule.kind == "interaction")
            .distinct()
        )
    ).all()


async def contact_ids_of_company(
    session: AsyncSession, workspace_id: uuid.UUID, company_id: uuid.UUID
) -> Sequence[uuid.UUID]:
    return (
        await session.scalars(
            select(Contact.id).where(
                Contact.workspace_id == workspace_id, Contact.company_id == company_id
            )
        )
    ).all()
