import base64
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Conflict
from crm_api.core.events import record_event, record_update
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import apply_changes, get_owned, sent_values, touch
from crm_api.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm_api.models.base import utcnow

from . import repository
from .repository import TEST_EVENT
from .schemas import (
    ReplayRequest,
    RotatedSecret,
    WebhookAttemptListParams,
    WebhookDeliveryListParams,
    WebhookEndpointCreate,
    WebhookEndpointListParams,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
)

ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """Standard Webhooks form: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


async def create_endpoint(
    session: AsyncSession, principal: Principal, data: WebhookEndpointCreate
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        workspace_id=principal.workspace_id,
        id=new_id(),
        secret=new_secret(),
        disabled_reason=None if data.enabled else "manual",
        **data.model_dump(),
    )
    session.add(endpoint)
    await session.flush()
    read = WebhookEndpointRead.model_validate(endpoint)
    record_event(session, principal, "webhook_endpoint.created", endpoint.id, read)
    return endpoint


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint:
    return await get_owned(
        session, WebhookEndpoint, principal, endpoint_id, "webhook endpoint", for_update=for_update
    )


async def list_endpoints(
    session: AsyncSession, principal: Principal, params: WebhookEndpointListParams
) -> tuple[list[WebhookEndpoint], str | None]:
    sort = parse_sort(params.sort, repository.ENDPOINT_SORTS)
    rows = await repository.list_endpoints(session, principal.workspace_id, params, sort)
    return page_of(rows, sort, params)


async def update_endpoint(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    if_match: IfMatch,
) -> WebhookEndpoint:
    endpoint = await get_endpoint(session, principal, endpoint_id, for_update=True)
    if_match.check(endpoint.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return endpoint
    before = WebhookEndpointRead.model_validate(endpoint).model_dump(mode="json")
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        changes["disabled_reason"] = None if changes["enabled"] else "manual"
        changes["failing_since"] = None
    apply_changes(endpoint, changes, frozenset())
    touch(endpoint)
    await session.flush()
    after = WebhookEndpointRead.model_validate(endpoint)
    record_update(session, principal, "webhook_endpoint.updated", endpoint.id, before, after)
    return endpoint


async def delete_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, if_match: IfMatch
) -> None:
    await repository.take_turn_to_delete(session, principal.workspace_id)
    endpoint = await get_endpoint(session, principal, endpoint_id, for_update=True)
    if_match.check(endpoint.version)
    read = WebhookEndpointRead.model_validate(endpoint)
    await session.delete(endpoint)
    await session.flush()
    record_event(session, principal, "webhook_endpoint.deleted", endpoint.id, read)


async def rotate_secret(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, if_match: IfMatch
) -> tuple[WebhookEndpoint, RotatedSecret]:
    """A new secret; the one it replaces keeps signing (alongside) for 24 hours."""
    endpoint = await get_endpoint(session, principal, endpoint_id, for_update=True)
    if_match.check(endpoint.version)
    expires = utcnow() + ROTATION_OVERLAP
    endpoint.previous_secret, endpoint.previous_secret_expires_at = endpoint.secret, expires
    endpoint.secret = new_secret()
    touch(endpoint)
    await session.flush()
    read = WebhookEndpointRead.model_validate(endpoint)
    record_event(session, principal, "webhook_endpoint.secret_rotated", endpoint.id, read)
    return endpoint, RotatedSecret(secret=endpoint.secret, previous_secret_expires_at=expires)


async def replay(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID, data: ReplayRequest
) -> int:
    """Queue every matching event since ``data.since`` again for this endpoint, in one
    statement; they go out in order per resource like any other delivery."""
    endpoint = await get_endpoint(session, principal, endpoint_id, for_update=True)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it before replaying.")
    return await repository.queue_again(session, principal.workspace_id, endpoint.id, data)


async def send_test(
    session: AsyncSession, principal: Principal, endpoint_id: uuid.UUID
) -> WebhookDelivery:
    """A `webhook_endpoint.test` event, delivered to this endpoint only."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    event_id = new_id()
    read = WebhookEndpointRead.model_validate(endpoint)
    record_event(session, principal, TEST_EVENT, endpoint.id, read, event_id=event_id)
    await session.flush()
    delivery = WebhookDelivery(
        workspace_id=principal.workspace_id,
        id=new_id(),
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=TEST_EVENT,
        resource_id=endpoint.id,
        status="pending",
        attempts=0,
        next_attempt_at=utcnow(),
        created_at=utcnow(),
    )
    session.add(delivery)
    await session.flush()
    return delivery


async def list_deliveries(
    session: AsyncSession,
    principal: Principal,
    endpoint_id: uuid.UUID,
    params: WebhookDeliveryListParams,
) -> tuple[list[WebhookDelivery], str | None]:
    await get_endpoint(session, principal, endpoint_id)
    sort = parse_sort(params.sort, repository.DELIVERY_SORTS)
    rows = await repository.list_deliveries(
        session, principal.workspace_id, endpoint_id, params, sort
    )
    return page_of(rows, sort, params)


async def get_delivery(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> WebhookDelivery:
    return await get_owned(session, WebhookDelivery, principal, delivery_id, "webhook delivery")


async def list_attempts(
    session: AsyncSession,
    principal: Principal,
    delivery_id: uuid.UUID,
    params: WebhookAttemptListParams,
) -> tuple[list[WebhookAttempt], str | None]:
    await get_delivery(session, principal, delivery_id)
    sort = parse_sort(params.sort, repository.ATTEMPT_SORTS)
    rows = await repository.list_attempts(
        session, principal.workspace_id, delivery_id, params, sort
    )
    return page_of(rows, sort, params)


async def retry_delivery(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Due again at once; if that attempt fails, retries go on where the schedule left off
    (none, after the last). An attempt in flight keeps its lease: nothing is sent twice."""
    delivery = await get_owned(
        session, WebhookDelivery, principal, delivery_id, "webhook delivery", for_update=True
    )
    if delivery.status == "succeeded":
        raise Conflict("The delivery already succeeded; replay the endpoint to send it again.")
    delivery.status, delivery.next_attempt_at, delivery.completed_at = "pending", utcnow(), None
    await session.flush()
    return delivery
