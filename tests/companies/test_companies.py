"""Companies: domains as natural keys, money, filters, archive lifecycle, purge keeps contacts."""

import pytest
from httpx import AsyncClient

from tests.factories import Workspace, make_company, make_contact
from tests.problems import assert_problem


async def test_create_normalises_domain_and_keeps_money_exact(
    client: AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        "/v1/companies",
        json={
            "name": "Umbrella",
            "domain": "https://www.Umbrella.example/about",
            "industry": "pharma",
            "employee_count": 5000,
            "annual_revenue": {"amount": "1234567.89", "currency": "eur"},
            "tags": ["enterprise"],
        },
        headers=workspace.headers,
    )
    assert response.status_code == 201
    company = response.json()
    assert response.headers["location"] == f"/v1/companies/{company['id']}"
    assert company["domain"] == "umbrella.example"
    assert company["annual_revenue"] == {"amount": "1234567.89", "currency": "EUR"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "domain": "not a domain"}, "domain"),
        ({"name": "X", "annual_revenue": {"amount": "1.5", "currency": "EURO"}}, "currency"),
        ({"name": "X", "annual_revenue": {"amount": "abc", "currency": "EUR"}}, "amount"),
        ({"name": "X", "employee_count": -1}, "employee_count"),
        ({"name": ""}, "name"),
    ],
)
async def test_invalid_fields_are_422(
    client: AsyncClient, workspace: Workspace, body: dict[str, object], field: str
) -> None:
    response = await client.post("/v1/companies", json=body, headers=workspace.headers)
    assert_problem(response, 422, field=field)


async def test_duplicate_domain_is_409_naming_the_existing_company(
    client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    first = await make_company(client, workspace, domain="acme.example")
    response = await client.post(
        "/v1/companies",
        json={"name": "Acme 2", "domain": "ACME.example"},
        headers=workspace.headers,
    )
    assert assert_problem(response, 409, field="domain")["existing_id"] == first["id"]
    # The same domain in another workspace is another company.
    await make_company(client, other_workspace, domain="acme.example")


async def test_patch_and_if_match(client: AsyncClient, workspace: Workspace) -> None:
    company = await make_company(client, workspace, industry="retail")
    url = f"/v1/companies/{company['id']}"
    response = await client.patch(
        url,
        json={"industry": "software", "annual_revenue": {"amount": "10", "currency": "USD"}},
        headers={**workspace.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.json()["industry"] == "software"
    assert response.json()["name"] == company["name"]
    assert response.headers["etag"] == '"2"'
    cleared = await client.patch(url, json={"annual_revenue": None}, headers=workspace.headers)
    assert cleared.json()["annual_revenue"] is None
    stale = await client.patch(
        url, json={"industry": "x"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("industry=software", ["initech"]),
        ("industry=software&industry=retail", ["initech", "shopmart"]),
        ("employee_count_gte=100", ["initech"]),
        ("employee_count_lte=100", ["shopmart"]),
        ("annual_revenue_gte=5000.50", ["initech"]),
        ("domain=SHOPMART.example", ["shopmart"]),
        ("name=Shopmart", ["shopmart"]),
        ("q=initech", ["initech"]),
        ("q=shopmart.example", ["shopmart"]),
        ("tags=b2b", ["initech"]),
        ("address_country=DE", ["shopmart"]),
        ("sort=name", ["initech", "shopmart"]),
        ("sort=-name", ["shopmart", "initech"]),
    ],
)
async def test_filters_and_sorts(
    client: AsyncClient, workspace: Workspace, query: str, expected: list[str]
) -> None:
    made = {
        "initech": await make_company(
            client,
            workspace,
            name="Initech",
            industry="software",
            employee_count=500,
            annual_revenue={"amount": "9000", "currency": "USD"},
            tags=["b2b"],
        ),
        "shopmart": await make_company(
            client,
            workspace,
            name="Shopmart",
            domain="shopmart.example",
            industry="retail",
            employee_count=20,
            annual_revenue={"amount": "5000.49", "currency": "USD"},
            address={"country": "DE"},
        ),
    }
    response = await client.get(f"/v1/companies?{query}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    found = [company["id"] for company in response.json()["data"]]
    expected_ids = [made[name]["id"] for name in expected]
    assert found == expected_ids if "sort" in query else sorted(found) == sorted(expected_ids)


async def test_unknown_filter_is_422(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.get("/v1/companies?sector=x", headers=workspace.headers)
    assert_problem(response, 422, field="sector")


async def test_purging_a_company_keeps_its_contacts(
    client: AsyncClient, workspace: Workspace
) -> None:
    company = await make_company(client, workspace)
    contact = await make_contact(client, workspace, company_id=company["id"])
    url = f"/v1/companies/{company['id']}"
    assert_problem(await client.delete(url, headers=workspace.headers), 409)
    assert (await client.post(f"{url}/archive", headers=workspace.headers)).status_code == 200
    listed = await client.get("/v1/companies", headers=workspace.headers)
    assert listed.json()["data"] == []
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    kept = await client.get(f"/v1/contacts/{contact['id']}", headers=workspace.headers)
    assert kept.status_code == 200
    assert kept.json()["company_id"] is None
    assert kept.json()["version"] == contact["version"] + 1
    events = await client.get(
        f"/v1/events?type=contact.updated&resource_id={contact['id']}", headers=workspace.headers
    )
    [unlinked] = events.json()["data"]
    assert unlinked["previous"]["company_id"] == company["id"]


async def test_restore_brings_a_company_back(client: AsyncClient, workspace: Workspace) -> None:
    company = await make_company(client, workspace)
    url = f"/v1/companies/{company['id']}"
    await client.post(f"{url}/archive", headers=workspace.headers)
    restored = await client.post(f"{url}/restore", headers=workspace.headers)
    assert restored.json()["archived_at"] is None
    listed = await client.get("/v1/companies", headers=workspace.headers)
    assert [c["id"] for c in listed.json()["data"]] == [company["id"]]
