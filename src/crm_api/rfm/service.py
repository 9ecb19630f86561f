"""RFM: recency, frequency and monetary quintiles per customer, and the usual named segments.

Computed for a whole workspace at once in one statement over its customers' paid and fulfilled
orders: on request, and by the worker after orders change. Scores are quintiles by rank, so equal
values get equal scores. Monetary is a customer's spend in the currency of most of their orders
(ties: the workspace's default currency, then the first code), never a sum across currencies,
and M ranks customers against those whose spend is in the same currency. Segments, from the
recency (R) and frequency (F) scores, the first rule that matches:

| segment | rule |
| --- | --- |
| champions | R >= 4 and F >= 4 |
| cannot_lose | R = 1 and F = 5 |
| at_risk | R <= 2 and F >= 3 |
| loyal | R = 3 and F >= 3 |
| new_customers | R = 5 and F = 1 |
| promising | R = 4 and F = 1 |
| potential_loyalist | R >= 4 and F in 2..3 |
| need_attention | R = 3 and F <= 2 |
| lost | R = 1 and F <= 2 |
| hibernating | R = 2 and F <= 2 |
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.core.auth import Principal
from crm_api.core.pagination import page_of, paginate, parse_sort
from crm_api.models import ContactRfm, Workspace
from crm_api.models.base import utcnow

from .schemas import RfmListParams

SORTABLE = {"monetary": ContactRfm.monetary, "recency_days": ContactRfm.recency_days}

_COMPUTE = text(
    """
    INSERT INTO contact_rfm (workspace_id, contact_id, last_order_at, recency_days, frequency,
                             monetary, currency, r_score, f_score, m_score, segment, computed_at)
    SELECT workspace_id, contact_id, last_order_at, recency_days, frequency, monetary, currency,
           r, f, m,
           CASE
             WHEN r >= 4 AND f >= 4 THEN 'champions'
             WHEN r = 1 AND f = 5 THEN 'cannot_lose'
             WHEN r <= 2 AND f >= 3 THEN 'at_risk'
             WHEN r = 3 AND f >= 3 THEN 'loyal'
             WHEN r = 5 AND f = 1 THEN 'new_customers'
             WHEN r = 4 AND f = 1 THEN 'promising'
             WHEN r >= 4 THEN 'potential_loyalist'
             WHEN r = 3 THEN 'need_attention'
             WHEN r = 1 THEN 'lost'
             ELSE 'hibernating'
           END,
           :now
    FROM (
        -- Quintiles by rank: equal values share the lowest rank of their tie, so equal scores.
        SELECT *,
               least(5, 1 + floor(5.0 * (rank() OVER (ORDER BY recency_days DESC) - 1)
                                  / count(*) OVER ()))::int AS r,
               least(5, 1 + floor(5.0 * (rank() OVER (ORDER BY frequency) - 1)
                                  / count(*) OVER ()))::int AS f,
               least(5, 1 + floor(5.0 * (rank() OVER (PARTITION BY currency ORDER BY monetary) - 1)
                                  / count(*) OVER (PARTITION BY currency)))::int AS m
        FROM (
            SELECT o.workspace_id, o.contact_id,
                   max(o.placed_at) AS last_order_at,
                   floor(extract(epoch FROM :now - max(o.placed_at)) / 86400)::int AS recency_days,
                   count(*) AS frequency,
                   main.currency,
                   main.amount AS monetary
            FROM orders o
            JOIN (
                -- Each customer's spend in the currency of most of their orders (ties: the
                -- workspace's default currency, then the first code): money is never added
                -- across currencies, and M ranks customers against others in that currency.
                SELECT DISTINCT ON (contact_id) contact_id, currency, amount
                FROM (
                    SELECT contact_id, currency, count(*) AS orders, sum(total) AS amount
                    FROM orders
                    WHERE workspace_id = :workspace_id AND status IN ('paid', 'fulfilled')
                      AND placed_at <= :now
                    GROUP BY contact_id, currency
                ) AS per_currency
                ORDER BY contact_id, orders DESC, (currency = :currency) DESC, currency
            ) AS main ON main.contact_id = o.contact_id
            WHERE o.workspace_id = :workspace_id AND o.status IN ('paid', 'fulfilled')
              AND o.placed_at <= :now
            GROUP BY o.workspace_id, o.contact_id, main.currency, main.amount
        ) AS customers
    ) AS scored
    """
)


async def compute(session: AsyncSession, workspace_id: uuid.UUID) -> tuple[int, datetime]:
    """Replace the workspace's scores with fresh ones; how many customers, and when."""
    workspace = await session.get(Workspace, workspace_id, with_for_update=True)
    assert workspace is not None  # the caller's or the worker's, locked
    now = utcnow()
    await session.execute(delete(ContactRfm).where(ContactRfm.workspace_id == workspace_id))
    result = await session.execute(
        _COMPUTE,
        {"workspace_id": workspace_id, "currency": workspace.default_currency, "now": now},
    )
    workspace.rfm_stale = False
    return int(result.rowcount or 0), now  # type: ignore[attr-defined]


def mark_stale(session: AsyncSession, workspace_id: uuid.UUID) -> Any:
    """Orders changed: the worker recomputes the workspace's scores."""
    return session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id, Workspace.rfm_stale.is_(False))
        .values(rfm_stale=True)
        .execution_options(synchronize_session=False)
    )


async def recompute_stale(sessionmaker: async_sessionmaker[AsyncSession], limit: int = 10) -> int:
    """The worker's job: recompute workspaces whose orders changed, each in its transaction."""
    done = 0
    for _ in range(limit):
        async with sessionmaker() as session, session.begin():
            workspace_id = await session.scalar(
                select(Workspace.id)
                .where(Workspace.rfm_stale)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if workspace_id is None:
                break
            await compute(session, workspace_id)
            done += 1
    return done


async def list_scores(
    session: AsyncSession, principal: Principal, params: RfmListParams
) -> tuple[list[ContactRfm], str | None]:
    sort = parse_sort(params.sort, SORTABLE)
    conditions: list[ColumnElement[bool]] = [ContactRfm.workspace_id == principal.workspace_id]
    if params.segment:
        conditions.append(ContactRfm.segment.in_(params.segment))
    for column, value in (
        (ContactRfm.r_score, params.r_score),
        (ContactRfm.f_score, params.f_score),
        (ContactRfm.m_score, params.m_score),
    ):
        if value is not None:
            conditions.append(column == value)
    statement = select(ContactRfm).where(*conditions)
    rows = (await session.scalars(paginate(statement, ContactRfm.contact_id, sort, params))).all()
    return page_of(rows, sort, params)
