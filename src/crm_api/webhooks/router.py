import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep, etag
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import (
    ReplayRequest,
    ReplayResult,
    RotatedSecret,
    WebhookAttemptListParams,
    WebhookAttemptRead,
    WebhookDeliveryListParams,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointListParams,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

router = crm_router("/v1/webhook-endpoints", "Webhooks")
deliveries_router = crm_router("/v1/webhook-deliveries", "Webhooks")
Reader = Annotated[Principal, Depends(require(Scope.webhooks_read))]
Writer = Annotated[Principal, Depends(require(Scope.webhooks_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe an endpoint to events",
    description="The answer carries the signing secret (`whsec_...`); it is not shown again.",
    responses=problem_responses(400, 413, 415),
)
async def create_webhook_endpoint(
    data: WebhookEndpointCreate, session: SessionDep, principal: Writer, response: Response
) -> WebhookEndpointWithSecret:
    endpoint = await service.create_endpoint(session, principal, data)
    response.headers["Location"] = f"/v1/webhook-endpoints/{endpoint.id}"
    return WebhookEndpointWithSecret.model_validate(endpoint)


@router.get(
    "", summary="List webhook endpoints", openapi_extra=documented_params(WebhookEndpointListParams)
)
async def list_webhook_endpoints(
    params: Annotated[WebhookEndpointListParams, Depends(list_params(WebhookEndpointListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[WebhookEndpointRead]:
    rows, next_cursor = await service.list_endpoints(session, principal, params)
    return Page(data=[WebhookEndpointRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{webhook_endpoint_id:uuid}",
    summary="Get a webhook endpoint",
    responses=problem_responses(404),
)
async def get_webhook_endpoint(
    webhook_endpoint_id: uuid.UUID, session: SessionDep, principal: Reader
) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(
        await service.get_endpoint(session, principal, webhook_endpoint_id)
    )


@router.patch(
    "/{webhook_endpoint_id:uuid}",
    summary="Update a webhook endpoint",
    description="Enabling a disabled endpoint clears its failure record.",
    responses=problem_responses(400, 404, 412, 413, 415, 428),
)
async def update_webhook_endpoint(
    webhook_endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> WebhookEndpointRead:
    endpoint = await service.update_endpoint(
        session, principal, webhook_endpoint_id, data, if_match
    )
    return WebhookEndpointRead.model_validate(endpoint)


@router.delete(
    "/{webhook_endpoint_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a webhook endpoint and its delivery log",
    responses=problem_responses(404, 412, 428),
)
async def delete_webhook_endpoint(
    webhook_endpoint_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_endpoint(session, principal, webhook_endpoint_id, if_match)


@router.post(
    "/{webhook_endpoint_id:uuid}/rotate-secret",
    summary="Rotate the signing secret",
    description="The old secret keeps signing, next to the new one, for 24 hours.",
    responses=problem_responses(404, 412, 428),
)
async def rotate_webhook_secret(
    webhook_endpoint_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
    response: Response,
) -> RotatedSecret:
    endpoint, rotated = await service.rotate_secret(
        session, principal, webhook_endpoint_id, if_match
    )
    # The answer is the new secret, not the endpoint, so the route class cannot read a version
    # from it: the endpoint's new version is named here, for the next If-Match, and the route
    # class keeps an ETag the operation set.
    response.headers["ETag"] = etag(endpoint.version)
    return rotated


@router.post(
    "/{webhook_endpoint_id:uuid}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Re-send every matching event since a time",
    responses=problem_responses(400, 404, 409, 413, 415),
)
async def replay_webhook_endpoint(
    webhook_endpoint_id: uuid.UUID, data: ReplayRequest, session: SessionDep, principal: Writer
) -> ReplayResult:
    count = await service.replay(session, principal, webhook_endpoint_id, data)
    return ReplayResult(deliveries=count)


@router.post(
    "/{webhook_endpoint_id:uuid}/test",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a test event",
    description="A `webhook_endpoint.test` event, delivered to this endpoint only.",
    responses=problem_responses(404),
)
async def test_webhook_endpoint(
    webhook_endpoint_id: uuid.UUID, session: SessionDep, principal: Writer
) -> WebhookDeliveryRead:
    delivery = await service.send_test(session, principal, webhook_endpoint_id)
    return WebhookDeliveryRead.model_validate(delivery)


@router.get(
    "/{webhook_endpoint_id:uuid}/deliveries",
    summary="An endpoint's deliveries",
    responses=problem_responses(404),
    openapi_extra=documented_params(WebhookDeliveryListParams),
)
async def list_webhook_deliveries(
    webhook_endpoint_id: uuid.UUID,
    params: Annotated[WebhookDeliveryListParams, Depends(list_params(WebhookDeliveryListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[WebhookDeliveryRead]:
    rows, next_cursor = await service.list_deliveries(
        session, principal, webhook_endpoint_id, params
    )
    return Page(data=[WebhookDeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@deliveries_router.get(
    "/{webhook_delivery_id:uuid}",
    summary="Get a webhook delivery",
    responses=problem_responses(404),
)
async def get_webhook_delivery(
    webhook_delivery_id: uuid.UUID, session: SessionDep, principal: Reader
) -> WebhookDeliveryRead:
    return WebhookDeliveryRead.model_validate(
        await service.get_delivery(session, principal, webhook_delivery_id)
    )


@deliveries_router.get(
    "/{webhook_delivery_id:uuid}/attempts",
    summary="A delivery's attempts: status, latency, response excerpt, error",
    responses=problem_responses(404),
    openapi_extra=documented_params(WebhookAttemptListParams),
)
async def list_webhook_attempts(
    webhook_delivery_id: uuid.UUID,
    params: Annotated[WebhookAttemptListParams, Depends(list_params(WebhookAttemptListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[WebhookAttemptRead]:
    rows, next_cursor = await service.list_attempts(session, principal, webhook_delivery_id, params)
    return Page(data=[WebhookAttemptRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@deliveries_router.post(
    "/{webhook_delivery_id:uuid}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Retry a delivery now",
    description="409 when it already succeeded (replay the endpoint to send it again).",
    responses=problem_responses(404, 409),
)
async def retry_webhook_delivery(
    webhook_delivery_id: uuid.UUID, session: SessionDep, principal: Writer
) -> WebhookDeliveryRead:
    return WebhookDeliveryRead.model_validate(
        await service.retry_delivery(session, principal, webhook_delivery_id)
    )
