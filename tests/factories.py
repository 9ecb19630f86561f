"""Small typed helpers that build records through the API (or the service, for workspaces)."""

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.workspaces.service import create_workspace


@dataclass(frozen=True)
class Workspace:
    id: uuid.UUID
    admin_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}


async def new_workspace(app: FastAPI, name: str) -> Workspace:
    async with app.state.sessionmaker() as session:
        workspace, key = await create_workspace(session, name)
        await session.commit()
    return Workspace(id=workspace.id, admin_key=key.secret)


async def created(
    client: AsyncClient, path: str, workspace: Workspace, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=workspace.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def make_contact(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Grace", "last_name": "Hopper", **fields}
    return await created(client, "/v1/contacts", workspace, body)


async def make_company(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    return await created(client, "/v1/companies", workspace, {"name": "Acme Ltd", **fields})


async def make_member(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    body = {"name": "Ada Lovelace", "email": f"{uuid.uuid4().hex[:8]}@example.com", **fields}
    return await created(client, "/v1/members", workspace, body)


async def make_custom_field(
    client: AsyncClient, workspace: Workspace, **fields: Any
) -> dict[str, Any]:
    body = {"entity": "contact", "key": "tier", "label": "Tier", "field_type": "text", **fields}
    return await created(client, "/v1/custom-fields", workspace, body)


async def make_pipeline(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"Pipeline {uuid.uuid4().hex[:6]}",
        "stages": [
            {"name": "Open", "probability": 20},
            {"name": "Later", "probability": 60},
            {"name": "Won", "probability": 100, "kind": "won"},
            {"name": "Lost", "probability": 0, "kind": "lost"},
        ],
        **fields,
    }
    return await created(client, "/v1/pipelines", workspace, body)


async def make_deal(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    body = {"name": "Big deal", "amount": {"amount": "1000.00", "currency": "EUR"}, **fields}
    return await created(client, "/v1/deals", workspace, body)


async def make_interaction(
    client: AsyncClient, workspace: Workspace, **fields: Any
) -> dict[str, Any]:
    if "contact_id" not in fields:
        fields["contact_id"] = (await make_contact(client, workspace))["id"]
    body = {"kind": "email", "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z"}
    return await created(client, "/v1/interactions", workspace, {**body, **fields})


async def make_task(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    return await created(client, "/v1/tasks", workspace, {"title": "Call back", **fields})


async def make_ticket(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    if "requester_id" not in fields:
        fields["requester_id"] = (await make_contact(client, workspace))["id"]
    return await created(client, "/v1/tickets", workspace, {"subject": "It broke", **fields})


async def make_sla_policy(
    client: AsyncClient, workspace: Workspace, **fields: Any
) -> dict[str, Any]:
    body = {
        "name": f"Policy {uuid.uuid4().hex[:6]}",
        "targets": {
            "normal": {"first_response_minutes": 60, "resolution_minutes": 480},
            "urgent": {"first_response_minutes": 15, "resolution_minutes": 120},
        },
        **fields,
    }
    return await created(client, "/v1/sla-policies", workspace, body)


async def make_nps(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    if "contact_id" not in fields:
        fields["contact_id"] = (await make_contact(client, workspace))["id"]
    body = {"kind": "nps", "score": 9, **fields}
    return await created(client, "/v1/survey-responses", workspace, body)


async def make_webhook_endpoint(
    client: AsyncClient, workspace: Workspace, **fields: Any
) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hooks", **fields}
    return await created(client, "/v1/webhook-endpoints", workspace, body)


async def make_product(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": f"SKU-{uuid.uuid4().hex[:8]}",
        "name": "Pro plan",
        "price": {"amount": "100.00", "currency": "EUR"},
        **fields,
    }
    return await created(client, "/v1/products", workspace, body)


async def make_order(client: AsyncClient, workspace: Workspace, **fields: Any) -> dict[str, Any]:
    if "contact_id" not in fields:
        fields["contact_id"] = (await make_contact(client, workspace))["id"]
    if "lines" not in fields:
        product = await make_product(client, workspace)
        fields["lines"] = [{"product_id": product["id"], "quantity": 1}]
    return await created(client, "/v1/orders", workspace, fields)


async def make_api_key(client: AsyncClient, workspace: Workspace, *scopes: str) -> str:
    response = await created(
        client, "/v1/api-keys", workspace, {"name": "limited", "scopes": list(scopes)}
    )
    secret: str = response["secret"]
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def invite(client: AsyncClient, workspace: Workspace, contact_id: str) -> dict[str, Any]:
    """Invite a contact to the portal (staff side): the invitation's account and expiry."""
    response = await client.post(
        f"/v1/contacts/{contact_id}/portal-invitations", headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data
