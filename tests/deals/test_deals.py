"""Deals: money, contacts with roles, stage moves with history and events, winning, filters."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories import (
    Workspace,
    make_company,
    make_contact,
    make_custom_field,
    make_deal,
    make_pipeline,
)
from tests.problems import assert_problem


async def _events(client: AsyncClient, workspace: Workspace, deal_id: str) -> list[str]:
    response = await client.get(f"/v1/events?resource_id={deal_id}", headers=workspace.headers)
    return [event["type"] for event in response.json()["data"]]


async def test_create_defaults_to_the_first_stage_of_the_first_pipeline(
    client: AsyncClient, workspace: Workspace
) -> None:
    company = await make_company(client, workspace)
    contact = await make_contact(client, workspace)
    response = await client.post(
        "/v1/deals",
        json={
            "name": "Renewal",
            "amount": {"amount": "12500.50", "currency": "usd"},
            "company_id": company["id"],
            "expected_close_date": "2027-03-31",
            "contacts": [{"contact_id": contact["id"], "role": "champion"}],
            "tags": ["renewal"],
        },
        headers=workspace.headers,
    )
    assert response.status_code == 201
    deal = response.json()
    assert response.headers["location"] == f"/v1/deals/{deal['id']}"
    assert deal["amount"] == {"amount": "12500.50", "currency": "USD"}
    assert deal["contacts"] == [{"contact_id": contact["id"], "role": "champion"}]
    pipelines = (await client.get("/v1/pipelines", headers=workspace.headers)).json()["data"]
    assert deal["pipeline_id"] == pipelines[0]["id"]
    assert deal["stage_id"] == pipelines[0]["stages"][0]["id"]
    assert deal["closed_at"] is None
    assert await _events(client, workspace, deal["id"]) == ["deal.created"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "amount": {"amount": "1", "currency": "EURO"}}, "currency"),
        ({"name": "X", "pipeline_id": "01a20000-0000-7000-8000-000000000000"}, "pipeline_id"),
        ({"name": "X", "stage_id": "01a20000-0000-7000-8000-000000000000"}, "stage_id"),
        ({"name": "X", "company_id": "01a20000-0000-7000-8000-000000000000"}, "company_id"),
        (
            {"name": "X", "contacts": [{"contact_id": "01a20000-0000-7000-8000-000000000000"}]},
            "contact_id",
        ),
        ({"name": ""}, "name"),
    ],
)
async def test_invalid_deals_are_422(
    client: AsyncClient, workspace: Workspace, body: dict[str, Any], field: str
) -> None:
    assert_problem(
        await client.post("/v1/deals", json=body, headers=workspace.headers), 422, field=field
    )


async def test_a_contact_listed_twice_is_422(client: AsyncClient, workspace: Workspace) -> None:
    contact = await make_contact(client, workspace)
    links = [{"contact_id": contact["id"]}, {"contact_id": contact["id"], "role": "x"}]
    response = await client.post(
        "/v1/deals", json={"name": "X", "contacts": links}, headers=workspace.headers
    )
    assert_problem(response, 422, field="contact_id")


async def test_stage_moves_keep_history_and_winning_makes_contacts_customers(
    client: AsyncClient, workspace: Workspace
) -> None:
    pipeline = await make_pipeline(client, workspace)
    open_, later, won = pipeline["stages"][0], pipeline["stages"][1], pipeline["stages"][2]
    contact = await make_contact(client, workspace, lifecycle_stage="opportunity")
    deal = await make_deal(
        client, workspace, pipeline_id=pipeline["id"], contacts=[{"contact_id": contact["id"]}]
    )
    url = f"/v1/deals/{deal['id']}"
    moved = await client.patch(
        url, json={"stage_id": later["id"]}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert moved.status_code == 200
    assert moved.json()["stage_id"] == later["id"]
    assert moved.json()["closed_at"] is None
    won_response = await client.patch(url, json={"stage_id": won["id"]}, headers=workspace.headers)
    assert won_response.json()["closed_at"] is not None
    reopened = await client.patch(url, json={"stage_id": open_["id"]}, headers=workspace.headers)
    assert reopened.json()["closed_at"] is None

    history = (await client.get(f"{url}/stage-history", headers=workspace.headers)).json()["data"]
    assert [(h["from_stage_id"], h["to_stage_id"]) for h in history] == [
        (None, open_["id"]),
        (open_["id"], later["id"]),
        (later["id"], won["id"]),
        (won["id"], open_["id"]),
    ]
    assert history[0]["seconds_in_previous_stage"] is None
    assert all(h["seconds_in_previous_stage"] >= 0 for h in history[1:])
    assert await _events(client, workspace, deal["id"]) == [
        "deal.created",
        "deal.updated",
        "deal.stage_changed",
        "deal.updated",
        "deal.stage_changed",
        "deal.won",
        "deal.updated",
        "deal.stage_changed",
    ]
    promoted = await client.get(f"/v1/contacts/{contact['id']}", headers=workspace.headers)
    assert promoted.json()["lifecycle_stage"] == "customer"
    lifecycle = await client.get(
        f"/v1/contacts/{contact['id']}/lifecycle-history", headers=workspace.headers
    )
    assert lifecycle.json()["data"][-1]["to_stage"] == "customer"


async def test_losing_emits_deal_lost(client: AsyncClient, workspace: Workspace) -> None:
    pipeline = await make_pipeline(client, workspace)
    deal = await make_deal(client, workspace, pipeline_id=pipeline["id"])
    lost = pipeline["stages"][3]
    response = await client.patch(
        f"/v1/deals/{deal['id']}",
        json={"stage_id": lost["id"], "lost_reason": "price"},
        headers=workspace.headers,
    )
    assert response.json()["lost_reason"] == "price"
    assert "deal.lost" in await _events(client, workspace, deal["id"])


async def test_a_stage_of_another_pipeline_is_422(
    client: AsyncClient, workspace: Workspace
) -> None:
    first, second = await make_pipeline(client, workspace), await make_pipeline(client, workspace)
    deal = await make_deal(client, workspace, pipeline_id=first["id"])
    url = f"/v1/deals/{deal['id']}"
    response = await client.patch(
        url, json={"stage_id": second["stages"][1]["id"]}, headers=workspace.headers
    )
    assert_problem(response, 422, field="stage_id")
    moved = await client.patch(
        url,
        json={"pipeline_id": second["id"], "stage_id": second["stages"][1]["id"]},
        headers=workspace.headers,
    )
    assert moved.json()["pipeline_id"] == second["id"]
    without_stage = await client.patch(
        url, json={"pipeline_id": first["id"]}, headers=workspace.headers
    )
    assert_problem(without_stage, 422, field="stage_id")


async def test_archive_restore_purge_and_if_match(
    client: AsyncClient, workspace: Workspace
) -> None:
    deal = await make_deal(client, workspace)
    url = f"/v1/deals/{deal['id']}"
    assert_problem(await client.delete(url, headers=workspace.headers), 409)
    stale = await client.patch(
        url, json={"name": "x"}, headers={**workspace.headers, "If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    assert (await client.post(f"{url}/archive", headers=workspace.headers)).json()["archived_at"]
    assert_problem(await client.patch(url, json={"name": "x"}, headers=workspace.headers), 409)
    assert (await client.get("/v1/deals", headers=workspace.headers)).json()["data"] == []
    assert (await client.post(f"{url}/restore", headers=workspace.headers)).json()[
        "archived_at"
    ] is None
    await client.post(f"{url}/archive", headers=workspace.headers)
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    assert_problem(await client.get(url, headers=workspace.headers), 404)


async def test_deal_custom_fields(client: AsyncClient, workspace: Workspace) -> None:
    await make_custom_field(client, workspace, entity="deal", key="segment", field_type="text")
    deal = await make_deal(client, workspace, custom_fields={"segment": "smb"})
    assert deal["custom_fields"] == {"segment": "smb"}
    bad = await client.post(
        "/v1/deals", json={"name": "X", "custom_fields": {"tier": 1}}, headers=workspace.headers
    )
    assert_problem(bad, 422, field="tier")
    found = await client.get("/v1/deals?custom_fields.segment=smb", headers=workspace.headers)
    assert [d["id"] for d in found.json()["data"]] == [deal["id"]]


async def test_filters(client: AsyncClient, workspace: Workspace) -> None:
    software = await make_company(client, workspace, name="Soft", industry="software")
    customer = await make_contact(client, workspace, lifecycle_stage="customer")
    pipeline = await make_pipeline(client, workspace)
    small = await make_deal(
        client,
        workspace,
        name="Small",
        amount={"amount": "100", "currency": "EUR"},
        expected_close_date="2027-01-15",
        pipeline_id=pipeline["id"],
    )
    big = await make_deal(
        client,
        workspace,
        name="Big",
        amount={"amount": "90000", "currency": "EUR"},
        expected_close_date="2027-06-15",
        company_id=software["id"],
        contacts=[{"contact_id": customer["id"], "role": "buyer"}],
        pipeline_id=pipeline["id"],
        stage_id=pipeline["stages"][2]["id"],
    )
    cases = {
        "amount_gte=1000": [big],
        "amount_lte=1000": [small],
        "expected_close_date_lte=2027-03-01": [small],
        "expected_close_date_gte=2027-03-01": [big],
        "stage_kind=won": [big],
        "stage_kind=open": [small],
        f"contact_id={customer['id']}": [big],
        "contact_lifecycle_stage=customer": [big],
        "company_industry=software": [big],
        "q=sma": [small],
        f"pipeline_id={pipeline['id']}&sort=created_at": [small, big],
    }
    for query, expected in cases.items():
        response = await client.get(f"/v1/deals?{query}", headers=workspace.headers)
        assert response.status_code == 200, (query, response.text)
        assert [d["id"] for d in response.json()["data"]] == [d["id"] for d in expected], query
    assert_problem(
        await client.get("/v1/deals?colour=red", headers=workspace.headers), 422, field="colour"
    )
