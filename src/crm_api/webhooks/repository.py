"""Webhooks' queries: endpoints, their deliveries and attempts, and queueing events again."""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Text, and_, cast, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm_api.models.base import utcnow

from .schemas import (
    ReplayRequest,
    WebhookAttemptListParams,
    WebhookDeliveryListParams,
    WebhookEndpointListParams,
)

TEST_EVENT = "webhook_endpoint.test"
ENDPOINT_SORTS = {"created_at": WebhookEndpoint.created_at}
DELIVERY_SORTS = {"created_at": WebhookDelivery.created_at}
ATTEMPT_SORTS = {"started_at": WebhookAttempt.started_at}


async def list_endpoints(
    session: AsyncSession, workspace_id: uuid.UUID, params: WebhookEndpointListParams, sort: Sort
) -> Sequence[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.workspace_id == workspace_id)
    if params.enabled is not None:
        statement = statement.where(WebhookEndpoint.enabled == params.enabled)
    return (await session.scalars(paginate(statement, WebhookEndpoint.id, sort, params))).all()


async def take_turn_to_delete(session: AsyncSession, workspace_id: uuid.UUID) -> None:
    """Deleting writes a webhook_endpoint.deleted event, whose fan-out (a trigger) key-share
    locks the workspace's other endpoints; two deletions would each hold one endpoint and wait
    for the other's. Deletions in a workspace take turns instead (until the transaction ends)."""
    await session.execute(
        select(
            func.pg_advisory_xact_lock(func.hashtextextended(f"webhook-deletes:{workspace_id}", 0))
        )
    )


def _matches() -> ColumnElement[bool]:
    patterns = cast(WebhookEndpoint.event_types, ARRAY(Text))
    return func.webhook_matches(patterns, Event.type).is_(True)


async def queue_again(
    session: AsyncSession, workspace_id: uuid.UUID, endpoint_id: uuid.UUID, data: ReplayRequest
) -> int:
    """A delivery to the endpoint for every event it subscribes to in the range (test events
    aside), in one statement; how many."""
    now = utcnow()
    events = (
        select(
            Event.workspace_id,
            func.crm_uuid7(),
            WebhookEndpoint.id,
            Event.id,
            Event.type,
            Event.resource_id,
            literal("pending"),
            literal(0),
            literal(now),
            literal(now),
        )
        .join(
            WebhookEndpoint,
            and_(
                WebhookEndpoint.workspace_id == Event.workspace_id,
                WebhookEndpoint.id == endpoint_id,
            ),
        )
        .where(
            Event.workspace_id == workspace_id,
            Event.occurred_at >= data.since,
            Event.type != TEST_EVENT,
            _matches(),
        )
    )
    if data.until is not None:
        events = events.where(Event.occurred_at <= data.until)
    result = await session.execute(
        insert(WebhookDelivery)
        .from_select(
            [
                "workspace_id",
                "id",
                "endpoint_id",
                "event_id",
                "event_type",
                "resource_id",
                "status",
                "attempts",
                "next_attempt_at",
                "created_at",
            ],
            events,
        )
        .returning(WebhookDelivery.id)
    )
    return len(result.all())


async def list_deliveries(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    endpoint_id: uuid.UUID,
    params: WebhookDeliveryListParams,
    sort: Sort,
) -> Sequence[WebhookDelivery]:
    statement = select(WebhookDelivery).where(
        WebhookDelivery.workspace_id == workspace_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if params.status is not None:
        statement = statement.where(WebhookDelivery.status == params.status)
    if params.event_type is not None:
        statement = statement.where(WebhookDelivery.event_type == params.event_type)
    return (await session.scalars(paginate(statement, WebhookDelivery.id, sort, params))).all()


async def list_attempts(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    delivery_id: uuid.UUID,
    params: WebhookAttemptListParams,
    sort: Sort,
) -> Sequence[WebhookAttempt]:
    statement = select(WebhookAttempt).where(
        WebhookAttempt.workspace_id == workspace_id, WebhookAttempt.delivery_id == delivery_id
    )
    return (await session.scalars(paginate(statement, WebhookAttempt.id, sort, params))).all()
