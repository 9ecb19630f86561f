"""Route classes for the portal: Idempotency-Key claims scoped to the signed-in customer (two
customers of a workspace never share a key), and none on the sign-in routes."""

import hashlib

from fastapi import Request

from crm_api.core.idempotency import IdempotencyKeyHeader, claim
from crm_api.core.routing import CRMRoute
from crm_api.core.session import SessionDep

from .auth import CustomerDep


async def claim_customer_idempotency_key(
    request: Request,
    customer: CustomerDep,
    session: SessionDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> None:
    if idempotency_key is not None:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
        await claim(request, session, customer.workspace_id, f"portal:{customer.user_id}:{digest}")


class PortalRoute(CRMRoute):
    idempotency = (claim_customer_idempotency_key,)


class SignInRoute(CRMRoute):
    idempotency = ()
