"""Another workspace's records are invisible on every route: 404 by id, absent from every list.

The operations are read from the app's OpenAPI document, so a new route is covered as soon as it
exists; one with a path parameter this file cannot fill fails until a factory is added below.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from httpx import AsyncClient

from tests.contract import PATHS
from tests.factories import (
    Workspace,
    invite,
    make_api_key,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_interaction,
    make_member,
    make_nps,
    make_order,
    make_pipeline,
    make_product,
    make_sla_policy,
    make_task,
    make_ticket,
    make_webhook_endpoint,
)

Factory = Callable[[AsyncClient, Workspace], Awaitable[str]]
# Operations whose body must be valid for the request to reach the record lookup.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/pipelines/{pipeline_id}/stages"): {"name": "Extra", "probability": 5},
    ("POST", "/v1/tickets/{ticket_id}/messages"): {"body": "Hello"},
    ("POST", "/v1/webhook-endpoints/{webhook_endpoint_id}/replay"): {
        "since": "2026-01-01T00:00:00Z"
    },
    ("POST", "/v1/contacts/{contact_id}/consents"): {
        "purpose": "marketing_email",
        "granted": True,
    },
    ("POST", "/v1/pipelines/{pipeline_id}/stages/reorder"): {
        "stage_ids": ["01a20000-0000-7000-8000-000000000000"]
    },
}


async def _merge_body(client: AsyncClient, owner: Workspace) -> dict[str, Any]:
    return {"source_id": await _contact(client, owner)}


# Bodies naming another record of the owner's, built per test.
BUILT_BODIES: dict[tuple[str, str], Callable[[AsyncClient, Workspace], Awaitable[Any]]] = {
    ("POST", "/v1/contacts/{contact_id}/merge"): _merge_body,
}


async def _contact(client: AsyncClient, owner: Workspace) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    return str((await make_contact(client, owner, email=email))["id"])


async def _company(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_company(client, owner, domain=f"{uuid.uuid4().hex[:10]}.example"))["id"])


async def _member(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_member(client, owner))["id"])


async def _custom_field(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_custom_field(client, owner))["id"])


async def _api_key(client: AsyncClient, owner: Workspace) -> str:
    await make_api_key(client, owner, "contacts:read")
    keys = (await client.get("/v1/api-keys", headers=owner.headers)).json()["data"]
    return str(keys[0]["id"])


async def _event(client: AsyncClient, owner: Workspace) -> str:
    await _contact(client, owner)
    events = (await client.get("/v1/events", headers=owner.headers)).json()["data"]
    return str(events[0]["id"])


async def _pipeline(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_pipeline(client, owner))["id"])


async def _deal(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_deal(client, owner))["id"])


async def _interaction(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_interaction(client, owner))["id"])


async def _task(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_task(client, owner))["id"])


async def _ticket(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_ticket(client, owner))["id"])


async def _sla_policy(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_sla_policy(client, owner))["id"])


async def _survey_response(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_nps(client, owner))["id"])


async def _webhook_endpoint(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_webhook_endpoint(client, owner))["id"])


async def _webhook_delivery(client: AsyncClient, owner: Workspace) -> str:
    endpoint = await _webhook_endpoint(client, owner)
    test = await client.post(f"/v1/webhook-endpoints/{endpoint}/test", headers=owner.headers)
    assert test.status_code == 202, test.text
    return str(test.json()["id"])


async def _segment(client: AsyncClient, owner: Workspace) -> str:
    response = await client.post(
        "/v1/segments",
        json={"name": f"s{uuid.uuid4().hex[:6]}", "filters": {"lifecycle_stage": ["lead"]}},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _lead_scoring_rule(client: AsyncClient, owner: Workspace) -> str:
    response = await client.post(
        "/v1/lead-scoring-rules",
        json={
            "kind": "attribute",
            "name": "Web",
            "points": 5,
            "field": "lead_source",
            "value": "web",
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _product(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_product(client, owner))["id"])


async def _order(client: AsyncClient, owner: Workspace) -> str:
    return str((await make_order(client, owner))["id"])


async def _portal_user(client: AsyncClient, owner: Workspace) -> str:
    contact = await _contact(client, owner)
    return str((await invite(client, owner, contact))["portal_user"]["id"])


async def _import(client: AsyncClient, owner: Workspace) -> str:
    response = await client.post(
        "/v1/imports",
        files={"file": ("rows.csv", b"email\nsomeone@example.com\n", "text/csv")},
        data={"resource": "contacts"},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


FACTORIES: dict[str, Factory] = {
    "contact_id": _contact,
    "company_id": _company,
    "member_id": _member,
    "custom_field_id": _custom_field,
    "api_key_id": _api_key,
    "event_id": _event,
    "pipeline_id": _pipeline,
    "deal_id": _deal,
    "interaction_id": _interaction,
    "task_id": _task,
    "ticket_id": _ticket,
    "sla_policy_id": _sla_policy,
    "survey_response_id": _survey_response,
    "webhook_endpoint_id": _webhook_endpoint,
    "webhook_delivery_id": _webhook_delivery,
    "product_id": _product,
    "order_id": _order,
    "segment_id": _segment,
    "rule_id": _lead_scoring_rule,
    "portal_user_id": _portal_user,
    "import_id": _import,
}
# The portal's own routes take a customer's token, not an API key: tests/portal walks them.
_PORTAL = "/v1/portal/"
_PATHS = PATHS
_OPERATIONS_WITH_IDS = [
    pytest.param(path, method.upper(), id=f"{method.upper()} {path}")
    for path, operations in _PATHS.items()
    for method in operations
    if "{" in path and not path.startswith(_PORTAL)
]
_LISTS = [
    pytest.param(path, id=path)
    for path, operations in _PATHS.items()
    if "{" not in path
    and "get" in operations
    and path.startswith("/v1/")
    and not path.startswith("/v1/kpis/")  # aggregates: tests/kpis shows they stay inside
    and not path.startswith(_PORTAL)
]


@pytest.mark.parametrize(("path", "method"), _OPERATIONS_WITH_IDS)
async def test_another_workspaces_record_is_not_found(
    client: AsyncClient,
    workspace: Workspace,
    other_workspace: Workspace,
    path: str,
    method: str,
) -> None:
    ids: dict[str, str] = {}
    for name in re.findall(r"{(\w+)}", path):
        if name == "stage_id":  # a stage of the pipeline named before it
            pipeline = await client.get(
                f"/v1/pipelines/{ids['pipeline_id']}", headers=other_workspace.headers
            )
            ids[name] = pipeline.json()["stages"][0]["id"]
            continue
        assert name in FACTORIES, f"add a factory for {{{name}}} to tests/test_tenancy.py"
        ids[name] = await FACTORIES[name](client, other_workspace)
    url = path.format(**ids)
    body = BODIES.get((method, path), {}) if method in {"POST", "PATCH", "PUT"} else None
    if (method, path) in BUILT_BODIES:
        body = await BUILT_BODIES[method, path](client, other_workspace)

    stranger = await client.request(method, url, json=body, headers=workspace.headers)
    assert stranger.status_code == 404, stranger.text
    assert stranger.headers["content-type"] == "application/problem+json"

    # The same request from the owner finds the record, so the 404 above was about tenancy.
    owner = await client.request(method, url, json=body, headers=other_workspace.headers)
    assert owner.status_code != 404, owner.text


async def _duplicate_contacts(client: AsyncClient, owner: Workspace) -> str:
    phone = [{"number": "+44 20 7946 0958"}]
    first = await make_contact(client, owner, email="dup-a@example.com", phones=phone)
    await make_contact(client, owner, email="dup-b@example.com", phones=phone)
    return str(first["id"])


async def _duplicate_companies(client: AsyncClient, owner: Workspace) -> str:
    first = await make_company(client, owner, name="Initech Corporation", domain="initech.example")
    await make_company(client, owner, name="Initech Corporation Ltd", domain="initech-ltd.example")
    return str(first["id"])


async def _rfm_score(client: AsyncClient, owner: Workspace) -> str:
    order = await make_order(client, owner, status="paid")
    computed = await client.post("/v1/rfm/compute", headers=owner.headers)
    assert computed.status_code == 200, computed.text
    return str(order["contact_id"])


# Lists whose records the factories above do not make.
_LIST_SEEDS: dict[str, Factory] = {
    "/v1/contacts/duplicates": _duplicate_contacts,
    "/v1/companies/duplicates": _duplicate_companies,
    "/v1/rfm": _rfm_score,
}


@pytest.mark.parametrize("path", _LISTS)
async def test_lists_never_show_another_workspaces_records(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace, path: str
) -> None:
    foreign_ids = [await factory(client, other_workspace) for factory in FACTORIES.values()]
    foreign_ids.append(str(other_workspace.id))
    if path in _LIST_SEEDS:
        foreign_ids.append(await _LIST_SEEDS[path](client, other_workspace))
    response = await client.get(path, headers=workspace.headers)
    assert response.status_code == 200, response.text
    assert not any(foreign_id in response.text for foreign_id in foreign_ids)
    owner_view = await client.get(path, headers=other_workspace.headers)
    assert owner_view.status_code == 200
    # The owner sees them, so their absence above is about tenancy, not an empty list.
    assert any(foreign_id in owner_view.text for foreign_id in foreign_ids), owner_view.text
