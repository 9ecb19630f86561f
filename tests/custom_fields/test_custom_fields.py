"""Custom fields: definitions, values checked on every write, removal of a definition's values."""

import pytest
from httpx import AsyncClient

from tests.factories import Workspace, make_company, make_contact, make_custom_field
from tests.problems import assert_problem


@pytest.fixture
async def fields(client: AsyncClient, workspace: Workspace) -> None:
    await make_custom_field(
        client, workspace, key="tier", field_type="enum", options=["gold", "silver"]
    )
    await make_custom_field(client, workspace, key="seats", field_type="number")
    await make_custom_field(client, workspace, key="renewal", field_type="date")
    await make_custom_field(client, workspace, key="active", field_type="boolean")
    await make_custom_field(client, workspace, key="note", field_type="text")
    await make_custom_field(client, workspace, key="region", field_type="text", required=True)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"region": "EU", "tier": "bronze"}, "tier"),
        ({"region": "EU", "seats": "ten"}, "seats"),
        ({"region": "EU", "seats": True}, "seats"),
        ({"region": "EU", "renewal": "next week"}, "renewal"),
        ({"region": "EU", "active": "yes"}, "active"),
        ({"region": "EU", "unknown": 1}, "unknown"),
        ({"tier": "gold"}, "region"),
    ],
)
async def test_values_are_checked_on_create(
    client: AsyncClient, workspace: Workspace, fields: None, values: dict[str, object], field: str
) -> None:
    response = await client.post(
        "/v1/contacts", json={"first_name": "A", "custom_fields": values}, headers=workspace.headers
    )
    assert_problem(response, 422, field=field)


async def test_values_merge_on_update_and_required_stays(
    client: AsyncClient, workspace: Workspace, fields: None
) -> None:
    contact = await make_contact(
        client,
        workspace,
        custom_fields={"region": "EU", "tier": "gold", "seats": 10, "renewal": "2027-01-31"},
    )
    url = f"/v1/contacts/{contact['id']}"
    response = await client.patch(
        url, json={"custom_fields": {"seats": 12, "tier": None}}, headers=workspace.headers
    )
    assert response.json()["custom_fields"] == {
        "region": "EU",
        "seats": 12,
        "renewal": "2027-01-31",
    }
    cleared = await client.patch(
        url, json={"custom_fields": {"region": None}}, headers=workspace.headers
    )
    assert_problem(cleared, 422, field="region")


async def test_company_fields_are_separate(
    client: AsyncClient, workspace: Workspace, fields: None
) -> None:
    # "region" is required on contacts only.
    await make_company(client, workspace)
    response = await client.post(
        "/v1/companies",
        json={"name": "X", "custom_fields": {"tier": "gold"}},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="tier")
    await make_custom_field(client, workspace, entity="company", key="tier", field_type="text")
    await make_company(client, workspace, name="Y", custom_fields={"tier": "anything"})


async def test_definition_lifecycle(client: AsyncClient, workspace: Workspace) -> None:
    definition = await make_custom_field(
        client, workspace, key="size", field_type="enum", options=["s", "m"]
    )
    url = f"/v1/custom-fields/{definition['id']}"
    duplicate = await client.post(
        "/v1/custom-fields",
        json={"entity": "contact", "key": "size", "label": "Size", "field_type": "text"},
        headers=workspace.headers,
    )
    assert assert_problem(duplicate, 409, field="key")["existing_id"] == definition["id"]
    updated = await client.patch(
        url, json={"options": ["s", "m", "l"], "label": "T-shirt"}, headers=workspace.headers
    )
    assert updated.json()["options"] == ["s", "m", "l"]
    assert updated.json()["version"] == 2
    assert_problem(
        await client.patch(url, json={"field_type": "text"}, headers=workspace.headers), 422
    )
    listed = await client.get("/v1/custom-fields?entity=contact", headers=workspace.headers)
    assert [d["id"] for d in listed.json()["data"]] == [definition["id"]]

    contact = await make_contact(client, workspace, custom_fields={"size": "l"})
    assert (await client.delete(url, headers=workspace.headers)).status_code == 204
    after = await client.get(f"/v1/contacts/{contact['id']}", headers=workspace.headers)
    assert after.json()["custom_fields"] == {}
    assert after.json()["version"] == 2
    events = await client.get(
        f"/v1/events?type=contact.updated&resource_id={contact['id']}", headers=workspace.headers
    )
    [stripped] = events.json()["data"]
    assert stripped["previous"]["custom_fields"] == {"size": "l"}


async def test_enum_needs_options(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/custom-fields",
        json={"entity": "contact", "key": "k", "label": "K", "field_type": "enum"},
        headers=workspace.headers,
    )
    assert_problem(response, 422)
    response = await client.post(
        "/v1/custom-fields",
        json={"entity": "contact", "key": "Bad Key", "label": "K", "field_type": "text"},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="key")


async def test_entities_are_named_as_paths_imports_and_exports_name_them(
    client: AsyncClient, workspace: Workspace
) -> None:
    made = await client.post(
        "/v1/custom-fields",
        json={"entity": "deals", "key": "region", "label": "Region", "field_type": "text"},
        headers=workspace.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["entity"] == "deals"
    # The singular of earlier versions is still read, and served as the plural.
    legacy = await client.post(
        "/v1/custom-fields",
        json={"entity": "contact", "key": "tier", "label": "Tier", "field_type": "text"},
        headers=workspace.headers,
    )
    assert legacy.json()["entity"] == "contacts"
    listed = await client.get("/v1/custom-fields?entity=deals", headers=workspace.headers)
    assert [field["key"] for field in listed.json()["data"]] == ["region"]
    deal = await client.post(
        "/v1/deals",
        json={"name": "x", "custom_fields": {"region": "EMEA"}},
        headers=workspace.headers,
    )
    assert deal.json()["custom_fields"] == {"region": "EMEA"}


async def test_an_unknown_entity_lists_the_names_the_api_uses(
    client: AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        "/v1/custom-fields",
        json={"entity": "Contacts", "key": "x", "label": "X", "field_type": "text"},
        headers=workspace.headers,
    )
    assert_problem(response, 422)
    assert response.json()["errors"][0]["msg"] == (
        "must be one of contacts, companies, deals, tickets"
    )
