"""Lead scoring: rules' points summed on each contact, kept current as inputs change."""

from datetime import timedelta
from typing import Any

import time_machine
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.lead_scoring.service import rescore_all
from crm_api.models.base import utcnow
from tests.factories import Workspace, make_company, make_contact, make_custom_field
from tests.problems import assert_problem


async def _rule(client: AsyncClient, workspace: Workspace, **body: Any) -> Any:
    response = await client.post("/v1/lead-scoring-rules", json=body, headers=workspace.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _score(client: AsyncClient, workspace: Workspace, contact: Any) -> int:
    response = await client.get(f"/v1/contacts/{contact['id']}", headers=workspace.headers)
    score: int = response.json()["lead_score"]
    return score


async def test_scores_follow_rules_and_their_inputs(
    app: FastAPI, client: AsyncClient, workspace: Workspace
) -> None:
    headers = workspace.headers
    await make_custom_field(client, workspace, key="tier", field_type="text")
    shop = await make_company(client, workspace, industry="Retail", domain="shop.example")
    a = await make_contact(
        client,
        workspace,
        email="a@bigcorp.com",
        company_id=shop["id"],
        custom_fields={"tier": "gold"},
    )
    b = await make_contact(client, workspace, email="b@else.example")
    attribute = {"kind": "attribute"}
    await _rule(
        client,
        workspace,
        **attribute,
        name="Retail",
        points=10,
        field="company_industry",
        value="Retail",
    )
    await _rule(
        client,
        workspace,
        **attribute,
        name="Big corp",
        points=5,
        field="email_domain",
        value="BigCorp.com",
    )
    tier = await _rule(
        client,
        workspace,
        **attribute,
        name="Top tiers",
        points=20,
        field="custom_fields.tier",
        operator="in",
        value=["gold", "platinum"],
    )
    await _rule(
        client,
        workspace,
        **attribute,
        name="Churned",
        points=-50,
        field="lifecycle_stage",
        value="churned",
    )
    await _rule(
        client,
        workspace,
        kind="interaction",
        name="Meetings",
        points=15,
        interaction_kind="meeting",
        within_days=30,
        max_count=2,
    )
    assert await _score(client, workspace, a) == 35  # 10 + 5 + 20
    assert await _score(client, workspace, b) == 0

    now = utcnow()
    for _ in range(3):
        response = await client.post(
            "/v1/interactions",
            json={
                "kind": "meeting",
                "direction": "outbound",
                "contact_id": a["id"],
                "occurred_at": now.isoformat(),
            },
            headers=headers,
        )
        assert response.status_code == 201
    assert await _score(client, workspace, a) == 65  # two meetings count: + 30
    churned = await client.patch(
        f"/v1/contacts/{b['id']}", json={"lifecycle_stage": "churned"}, headers=headers
    )
    assert churned.json()["lead_score"] == -50

    ranked = await client.get("/v1/contacts?sort=-lead_score", headers=headers)
    assert [c["id"] for c in ranked.json()["data"]] == [a["id"], b["id"]]
    hot = await client.get("/v1/contacts?lead_score_gte=50", headers=headers)
    assert [c["id"] for c in hot.json()["data"]] == [a["id"]]

    await client.patch(f"/v1/companies/{shop['id']}", json={"industry": "Tech"}, headers=headers)
    assert await _score(client, workspace, a) == 55
    changed = await client.patch(
        f"/v1/lead-scoring-rules/{tier['id']}", json={"points": 30}, headers=headers
    )
    assert changed.status_code == 200
    assert await _score(client, workspace, a) == 65

    with time_machine.travel(now + timedelta(days=31), tick=False):
        assert await rescore_all(app.state.sessionmaker) >= 1
    assert await _score(client, workspace, a) == 35  # 5 + 30: the meetings aged out

    deleted = await client.delete(f"/v1/lead-scoring-rules/{tier['id']}", headers=headers)
    assert deleted.status_code == 204
    # Rescored now: 5 for the domain, and the meetings are recent again.
    assert await _score(client, workspace, a) == 35


async def test_rules_are_validated(client: AsyncClient, workspace: Workspace) -> None:
    for body, field in (
        ({"field": "password", "value": "x"}, "field"),
        ({"field": "lead_source"}, "attribute"),
        ({"field": "lead_source", "operator": "in", "value": "web"}, "attribute"),
        ({"field": "lead_source", "value": "web", "points": 5000}, "points"),
    ):
        response = await client.post(
            "/v1/lead-scoring-rules",
            json={"kind": "attribute", "name": "x", "points": 1, **body},
            headers=workspace.headers,
        )
        assert_problem(response, 422, field=field)
