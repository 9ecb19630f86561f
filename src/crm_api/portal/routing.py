"""Route classes for the portal: Idempotency-Key claims scoped to the signed-in customer (two
customers of a workspace never share a key), and none on the sign-in routes."""

from fastapi import Request

from crm_api.core.auth import Scope
from crm_api.core.idempotency import (
    IdempotencyDependency,
    IdempotencyKeyHeader,
    caller_key,
    claim,
)
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
        key = caller_key(f"portal:{customer.user_id}", idempotency_key)
        await claim(request, session, customer.workspace_id, key)


class PortalRoute(CRMRoute):
    @classmethod
    def idempotency_claim(cls, scopes: set[Scope]) -> IdempotencyDependency | None:
        """A customer's token carries no scopes: being signed in is the check."""
        return claim_customer_idempotency_key


class SignInRoute(CRMRoute):
    @classmethod
    def idempotency_claim(cls, scopes: set[Scope]) -> IdempotencyDependency | None:
        return None
