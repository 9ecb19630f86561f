"""Saved segments: filters checked like the contacts list's, members and counts evaluated live."""

from httpx import AsyncClient

from tests.factories import Workspace, make_company, make_contact, make_custom_field
from tests.problems import assert_problem


async def test_a_segment_is_evaluated_live(client: AsyncClient, workspace: Workspace) -> None:
    headers = workspace.headers
    await make_custom_field(client, workspace, key="tier", field_type="text")
    retail = await make_company(client, workspace, industry="Retail", domain="shop.example")
    gold = [
        await make_contact(
            client,
            workspace,
            email=f"g{index}@example.com",
            lifecycle_stage="customer",
            company_id=retail["id"],
            custom_fields={"tier": "gold"},
        )
        for index in range(3)
    ]
    await make_contact(client, workspace, email="lead@example.com", company_id=retail["id"])
    await make_contact(
        client,
        workspace,
        email="silver@example.com",
        lifecycle_stage="customer",
        custom_fields={"tier": "silver"},
    )
    created = await client.post(
        "/v1/segments",
        json={
            "name": "Gold retail customers",
            "filters": {
                "lifecycle_stage": ["customer"],
                "company_industry": "Retail",
                "custom_fields.tier": "gold",
            },
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    url = f"/v1/segments/{created.json()['id']}"
    assert (await client.get(f"{url}/count", headers=headers)).json() == {"count": 3}
    page = await client.get(f"{url}/contacts?limit=2&sort=created_at", headers=headers)
    rest = await client.get(
        f"{url}/contacts?limit=2&sort=created_at&cursor={page.json()['next_cursor']}",
        headers=headers,
    )
    members = [c["id"] for c in page.json()["data"] + rest.json()["data"]]
    assert members == [contact["id"] for contact in gold]

    # Membership follows the data: a contact that stops matching leaves at once.
    await client.patch(
        f"/v1/contacts/{gold[0]['id']}", json={"lifecycle_stage": "churned"}, headers=headers
    )
    assert (await client.get(f"{url}/count", headers=headers)).json() == {"count": 2}
    changed = await client.patch(
        url, json={"filters": {"lifecycle_stage": ["churned"]}}, headers=headers
    )
    assert changed.status_code == 200
    assert (await client.get(f"{url}/count", headers=headers)).json() == {"count": 1}
    duplicate = await client.post(
        "/v1/segments", json={"name": "Gold retail customers", "filters": {}}, headers=headers
    )
    assert assert_problem(duplicate, 409, field="name")["existing_id"] == created.json()["id"]
    assert (await client.delete(url, headers=headers)).status_code == 204


async def test_bad_filters_are_named(client: AsyncClient, workspace: Workspace) -> None:
    for filters, field in (
        ({"lifecycle_stage": ["royalty"]}, "lifecycle_stage"),
        ({"colour": "red"}, "colour"),
        ({"custom_fields.nothing": "x"}, "custom_fields.nothing"),
        ({"limit": "5"}, "limit"),
    ):
        response = await client.post(
            "/v1/segments", json={"name": "x", "filters": filters}, headers=workspace.headers
        )
        assert_problem(response, 422, field=field)
