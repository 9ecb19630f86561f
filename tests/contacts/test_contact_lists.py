"""Contact lists: every filter, sort orders, keyset pages, search, and refusal of unknown params."""

from typing import Any

import pytest
from httpx import AsyncClient

from tests.factories import Workspace, make_company, make_contact, make_custom_field, make_member
from tests.problems import assert_problem


async def _ids(client: AsyncClient, workspace: Workspace, query: str) -> list[str]:
    response = await client.get(f"/v1/contacts?{query}", headers=workspace.headers)
    assert response.status_code == 200, response.text
    return [contact["id"] for contact in response.json()["data"]]


@pytest.fixture
async def people(client: AsyncClient, workspace: Workspace) -> dict[str, Any]:
    software = await make_company(
        client, workspace, name="Initech Software", domain="initech.example", industry="software"
    )
    retail = await make_company(client, workspace, name="Shopmart", industry="retail")
    owner = await make_member(client, workspace)
    await make_custom_field(client, workspace, key="score", label="Score", field_type="number")
    await make_custom_field(
        client, workspace, key="plan", label="Plan", field_type="enum", options=["free", "pro"]
    )
    return {
        "ada": await make_contact(
            client,
            workspace,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@analytical.example",
            lifecycle_stage="customer",
            company_id=software["id"],
            owner_id=owner["id"],
            tags=["vip", "math"],
            job_title="Analyst",
            phones=[{"label": "work", "number": "+44 20 7946 0000"}],
            lead_source="referral",
            address={"city": "London", "country": "GB"},
            custom_fields={"score": 90, "plan": "pro"},
        ),
        "bob": await make_contact(
            client,
            workspace,
            first_name="Bob",
            last_name="Builder",
            email="bob@build.example",
            lifecycle_stage="lead",
            company_id=retail["id"],
            tags=["vip"],
            custom_fields={"score": 40, "plan": "free"},
        ),
        "cy": await make_contact(
            client, workspace, first_name="Cy", last_name="Young", lifecycle_stage="lead"
        ),
        "software": software,
        "owner": owner,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lifecycle_stage=customer", ["ada"]),
        ("lifecycle_stage=customer&lifecycle_stage=lead", ["ada", "bob", "cy"]),
        ("email=ADA@analytical.example", ["ada"]),
        ("first_name=Bob", ["bob"]),
        ("last_name=Young", ["cy"]),
        ("job_title=Analyst", ["ada"]),
        ("phone=%2B44 20 7946 0000", ["ada"]),
        # Matched in E.164, however the number was typed on either side.
        ("phone=%2B44 (0)20-7946-0000", ["ada"]),
        ("phone=%2B442079460000", ["ada"]),
        ("phone=not a number", []),
        ("lead_source=referral", ["ada"]),
        ("tags=vip", ["ada", "bob"]),
        ("tags=vip&tags=math", ["ada"]),
        ("address_country=GB", ["ada"]),
        ("address_city=London", ["ada"]),
        ("company_industry=retail", ["bob"]),
        ("company_domain=initech.example", ["ada"]),
        ("q=lovelace", ["ada"]),
        ("q=BUILD.EXAMPLE", ["bob"]),
        ("q=initech", ["ada"]),
        ("q=%25", []),
        ("custom_fields.plan=pro", ["ada"]),
        ("custom_fields.score=40", ["bob"]),
        ("custom_fields.score_gte=50", ["ada"]),
        ("custom_fields.score_lte=50", ["bob"]),
    ],
)
async def test_filters(
    client: AsyncClient,
    workspace: Workspace,
    people: dict[str, Any],
    query: str,
    expected: list[str],
) -> None:
    found = await _ids(client, workspace, query)
    assert sorted(found) == sorted(people[name]["id"] for name in expected)


async def test_filters_by_related_ids_and_dates(
    client: AsyncClient, workspace: Workspace, people: dict[str, Any]
) -> None:
    ada = people["ada"]
    assert await _ids(client, workspace, f"owner_id={people['owner']['id']}") == [ada["id"]]
    assert await _ids(client, workspace, f"company_id={people['software']['id']}") == [ada["id"]]
    created = ada["created_at"].replace("+", "%2B")
    later = await _ids(client, workspace, f"created_at_gte={created}&sort=created_at")
    assert later[0] == ada["id"]
    assert await _ids(client, workspace, f"created_at_lte={created}") == [ada["id"]]


async def test_sorting_and_keyset_pages(
    client: AsyncClient, workspace: Workspace, people: dict[str, Any]
) -> None:
    newest_first = await _ids(client, workspace, "")
    assert newest_first == [people[name]["id"] for name in ("cy", "bob", "ada")]
    by_name = await _ids(client, workspace, "sort=last_name")
    assert by_name == [people[name]["id"] for name in ("bob", "ada", "cy")]
    by_name_desc = await _ids(client, workspace, "sort=-last_name")
    assert by_name_desc == list(reversed(by_name))

    seen: list[str] = []
    cursor = ""
    while True:
        response = await client.get(
            f"/v1/contacts?sort=last_name&limit=1{cursor}", headers=workspace.headers
        )
        page = response.json()
        seen += [contact["id"] for contact in page["data"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == by_name


async def test_company_contacts(
    client: AsyncClient, workspace: Workspace, people: dict[str, Any]
) -> None:
    response = await client.get(
        f"/v1/companies/{people['software']['id']}/contacts", headers=workspace.headers
    )
    assert [c["id"] for c in response.json()["data"]] == [people["ada"]["id"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("custom_fields.nope=1", "custom_fields.nope"),
        ("custom_fields.score=high", "custom_fields.score"),
        ("custom_fields.plan_gte=a", "custom_fields.plan_gte"),
        ("sort=email", "sort"),
        ("cursor=garbage", "cursor"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("lifecycle_stage=royalty", "lifecycle_stage"),
        ("created_at_gte=yesterday", "created_at_gte"),
    ],
)
async def test_unknown_or_invalid_parameters_are_422(
    client: AsyncClient, workspace: Workspace, people: dict[str, Any], query: str, field: str
) -> None:
    response = await client.get(f"/v1/contacts?{query}", headers=workspace.headers)
    assert_problem(response, 422, field=field)


async def test_a_cursor_from_another_sort_is_422(
    client: AsyncClient, workspace: Workspace, people: dict[str, Any]
) -> None:
    page = (await client.get("/v1/contacts?limit=1", headers=workspace.headers)).json()
    response = await client.get(
        f"/v1/contacts?sort=last_name&cursor={page['next_cursor']}", headers=workspace.headers
    )
    assert_problem(response, 422, field="cursor")
