import uuid
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound
from crm_api.core.events import record_event, record_update
from crm_api.core.filters import in_range, search_condition
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, sent_values, touch
from crm_api.lead_scoring.service import rescore
from crm_api.models import Interaction
from crm_api.tickets.service import escalate_on_sentiment

from . import repository
from .schemas import InteractionCreate, InteractionListParams, InteractionRead, InteractionUpdate
from .sentiment import sentiment_of


def _score(interaction: Interaction) -> None:
    """Inbound text gets a sentiment score; anything else has none."""
    inbound = interaction.direction == "inbound"
    interaction.sentiment = sentiment_of(interaction.subject, interaction.body) if inbound else None


async def create_interaction(
    session: AsyncSession, principal: Principal, data: InteractionCreate
) -> Interaction:
    interaction = Interaction(workspace_id=principal.workspace_id, **data.model_dump())
    _score(interaction)
    session.add(interaction)
    await session.flush()
    await rescore(session, principal.workspace_id, [interaction.contact_id])
    record_event(
        session,
        principal,
        "interaction.created",
        interaction.id,
        InteractionRead.model_validate(interaction),
    )
    if interaction.ticket_id is not None and interaction.direction == "inbound":
        await escalate_on_sentiment(
            session, principal, interaction.ticket_id, interaction.sentiment
        )
    return interaction


async def get_interaction(
    session: AsyncSession,
    principal: Principal,
    interaction_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Interaction:
    interaction = await repository.get_interaction(
        session, principal.workspace_id, interaction_id, for_update=for_update
    )
    if interaction is None:
        raise NotFound(f"No interaction {interaction_id}.")
    return interaction


async def list_interactions(
    session: AsyncSession, principal: Principal, params: InteractionListParams
) -> tuple[list[Interaction], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    conditions: list[ColumnElement[bool]] = [
        *in_range(Interaction.occurred_at, params.occurred_at_gte, params.occurred_at_lte),
        *in_range(Interaction.sentiment, params.sentiment_gte, params.sentiment_lte),
    ]
    exact: tuple[tuple[Any, Any], ...] = (
        (Interaction.direction, params.direction),
        (Interaction.contact_id, params.contact_id),
        (Interaction.company_id, params.company_id),
        (Interaction.deal_id, params.deal_id),
        (Interaction.ticket_id, params.ticket_id),
        (Interaction.member_id, params.member_id),
    )
    conditions += [column == value for column, value in exact if value is not None]
    if params.kind:
        conditions.append(Interaction.kind.in_(params.kind))
    if params.q is not None:
        conditions.append(search_condition(Interaction.search_text, params.q))
    rows = await repository.list_interactions(
        session, principal.workspace_id, conditions, params, sort
    )
    return page_of(rows, sort, params)


async def update_interaction(
    session: AsyncSession,
    principal: Principal,
    interaction_id: uuid.UUID,
    data: InteractionUpdate,
    if_match: IfMatch,
) -> Interaction:
    interaction = await get_interaction(session, principal, interaction_id, for_update=True)
    if_match.check(interaction.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return interaction
    before = InteractionRead.model_validate(interaction).model_dump(mode="json")
    previous_contact = interaction.contact_id
    apply_changes(interaction, changes, frozenset())
    if {"subject", "body", "direction"} & changes.keys():
        _score(interaction)
    touch(interaction)
    await session.flush()
    await rescore(session, principal.workspace_id, list({previous_contact, interaction.contact_id}))
    after = InteractionRead.model_validate(interaction)
    record_update(session, principal, "interaction.updated", interaction.id, before, after)
    return interaction


async def delete_interaction(
    session: AsyncSession, principal: Principal, interaction_id: uuid.UUID, if_match: IfMatch
) -> None:
    interaction = await get_interaction(session, principal, interaction_id, for_update=True)
    if_match.check(interaction.version)
    snapshot = InteractionRead.model_validate(interaction)
    await session.delete(interaction)
    await session.flush()
    await rescore(session, principal.workspace_id, [interaction.contact_id])
    record_event(session, principal, "interaction.deleted", interaction_id, snapshot)
