"""Hostile input gets a clear 4xx and writes nothing: deep nesting, huge strings, invalid UTF-8,
NUL characters, out-of-range numbers, and SQL metacharacters in every list parameter."""

import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.models import Company, Contact, Event
from tests.contract import PATHS
from tests.factories import Workspace, make_company, make_contact, make_custom_field
from tests.problems import assert_problem

METACHARACTERS = [
    "' OR 1=1 --",
    '"; DROP TABLE contacts; --',
    "%",
    "_",
    "\\",
    "*/ SELECT pg_sleep(5) /*",
    "$1",
    "\x00",
    "ü" * 300,
]


async def _counts(connection: AsyncConnection, workspace: Workspace) -> tuple[int, ...]:
    counts = []
    for model in (Contact, Company, Event):
        statement = (
            select(func.count()).select_from(model).where(model.workspace_id == workspace.id)
        )
        counts.append(await connection.scalar(statement) or 0)
    return tuple(counts)


def _list_parameters() -> list[Any]:
    cases = []
    for path, operations in PATHS.items():
        operation = operations.get("get")
        if not operation or "{" in path or not path.startswith("/v1/"):
            continue
        if path.startswith("/v1/portal/"):  # a customer's token: tests/portal/test_isolation.py
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                name = parameter["name"]
                cases.append(pytest.param(path, name, id=f"{path}?{name}"))
        cases.append(pytest.param(path, "custom_fields.note", id=f"{path}?custom_fields.note"))
    return cases


@pytest.mark.parametrize(("path", "name"), _list_parameters())
async def test_metacharacters_in_list_parameters_are_harmless(
    client: AsyncClient,
    workspace: Workspace,
    connection: AsyncConnection,
    path: str,
    name: str,
) -> None:
    await make_custom_field(client, workspace, key="note", field_type="text")
    await make_contact(client, workspace, email="victim@example.com")
    before = await _counts(connection, workspace)
    for value in METACHARACTERS:
        response = await client.get(path, params={name: value}, headers=workspace.headers)
        assert response.status_code in {200, 422}, (value, response.text)
        if response.status_code == 200:
            assert "victim@example.com" not in response.text or name in {"limit", "sort"}
    assert await _counts(connection, workspace) == before


async def test_deeply_nested_json_is_400(client: AsyncClient, workspace: Workspace) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(
        "/v1/contacts",
        content=body[:900_000],
        headers={**workspace.headers, "content-type": "application/json"},
    )
    assert response.status_code in {400, 422}
    assert response.headers["content-type"] == "application/problem+json"


async def test_nested_objects_in_fields_are_422(client: AsyncClient, workspace: Workspace) -> None:
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(200):
        cursor["x"] = {}
        cursor = cursor["x"]
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Deep", "address": nested, "custom_fields": nested},
        headers=workspace.headers,
    )
    assert_problem(response, 422)


async def test_invalid_utf8_is_400(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b'{"first_name": "\xff\xfe"}',
        headers={**workspace.headers, "content-type": "application/json"},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "x" * 201}, "first_name"),
        ({"first_name": "A\x00B"}, "first_name"),
        ({"first_name": "A", "tags": ["ok", "b\x00d"]}, "tags"),
        ({"first_name": "A", "address": {"city": "\x00"}}, "city"),
        ({"first_name": "A", "custom_fields": {"note": "\x00"}}, "custom_fields"),
        ({"first_name": "A", "custom_fields": {"n\x00te": "x"}}, "custom_fields"),
        ({"first_name": "A", "tags": ["t"] * 51}, "tags"),
    ],
)
async def test_unstorable_or_huge_values_are_422(
    client: AsyncClient,
    workspace: Workspace,
    connection: AsyncConnection,
    body: dict[str, Any],
    field: str,
) -> None:
    await make_custom_field(client, workspace, key="note", field_type="text")
    before = await _counts(connection, workspace)
    response = await client.post("/v1/contacts", json=body, headers=workspace.headers)
    assert_problem(response, 422, field=field)
    assert await _counts(connection, workspace) == before


async def test_non_finite_and_out_of_range_numbers_are_422(
    client: AsyncClient, workspace: Workspace
) -> None:
    await make_custom_field(client, workspace, key="score", field_type="number")
    for raw in (b"NaN", b"Infinity", b"1e400", str(2**60).encode()):
        response = await client.post(
            "/v1/contacts",
            content=b'{"first_name": "A", "custom_fields": {"score": ' + raw + b"}}",
            headers={**workspace.headers, "content-type": "application/json"},
        )
        assert_problem(response, 422, field="score")
    too_many = await client.post(
        "/v1/companies", json={"name": "Big", "employee_count": 2**40}, headers=workspace.headers
    )
    assert_problem(too_many, 422, field="employee_count")
    await make_company(client, workspace)
    query = await client.get(
        f"/v1/companies?employee_count_gte={2**40}&annual_revenue_gte=NaN",
        headers=workspace.headers,
    )
    assert_problem(query, 422, field="employee_count_gte")


async def test_an_idempotency_key_with_control_characters_is_422(
    client: AsyncClient, workspace: Workspace
) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "A"},
        headers={**workspace.headers, "Idempotency-Key": "tab\there"},
    )
    assert_problem(response, 422, field="Idempotency-Key")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/v1/contacts?updated_at_lte=0.5", "updated_at_lte"),
        ("/v1/events?occurred_at_gte=1700000000", "occurred_at_gte"),
        ("/v1/companies?annual_revenue_gte=-1.7976931348623157e%2B308", "annual_revenue_gte"),
        ("/v1/companies?sort=domain", "sort"),
    ],
)
async def test_values_outside_the_documented_forms_are_422(
    client: AsyncClient, workspace: Workspace, query: str, field: str
) -> None:
    assert_problem(await client.get(query, headers=workspace.headers), 422, field=field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/companies", {"name": "X", "employee_count": False}, "employee_count"),
        ("/v1/companies", {"name": "X", "employee_count": "12"}, "employee_count"),
        (
            "/v1/companies",
            {"name": "X", "annual_revenue": {"amount": True, "currency": "EUR"}},
            "amount",
        ),
        (
            "/v1/custom-fields",
            {"entity": "contact", "key": "k", "label": "K", "field_type": "text", "required": 1},
            "required",
        ),
    ],
)
async def test_values_of_another_json_type_are_422(
    client: AsyncClient, workspace: Workspace, path: str, body: dict[str, Any], field: str
) -> None:
    assert_problem(await client.post(path, json=body, headers=workspace.headers), 422, field=field)


LONE = "caf\ud800"  # a lone UTF-16 surrogate: valid JSON ("\ud800"), no character at all


def _json(workspace: Workspace) -> dict[str, str]:
    # Bodies go as JSON's ASCII escapes, as a client in any language may send them.
    return {**workspace.headers, "Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "POST",
            "/v1/contacts",
            {"first_name": "A", "custom_fields": {"k": LONE}},
            "custom_fields",
        ),
        ("POST", "/v1/contacts", {"first_name": LONE}, "first_name"),
        ("POST", "/v1/contacts", {"first_name": "A", "address": {"city": LONE}}, "address"),
        ("POST", "/v1/companies", {"name": "A", "custom_fields": {LONE: 1}}, "custom_fields"),
        ("POST", "/v1/deals", {"name": "A", "custom_fields": {"k": [LONE]}}, "custom_fields"),
        ("POST", "/v1/tickets", {"subject": "A", "custom_fields": {"k": LONE}}, "custom_fields"),
        ("POST", "/v1/contacts/upsert", {"email": "u@example.com", "last_name": LONE}, "last_name"),
    ],
)
async def test_lone_surrogates_are_422_and_nothing_is_written(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    before = await _counts(connection, workspace)
    response = await client.request(
        method, path, content=json.dumps(body), headers=_json(workspace)
    )
    assert_problem(response, 422, field=field)
    assert await _counts(connection, workspace) == before


async def test_a_lone_surrogate_fails_its_batch_item_only(
    client: AsyncClient, workspace: Workspace
) -> None:
    items = [{"first_name": "Fine"}, {"first_name": "Bad", "custom_fields": {"k": LONE}}]
    response = await client.post(
        "/v1/contacts/batch",
        content=json.dumps({"operation": "create", "items": items}),
        headers=_json(workspace),
    )
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert response.json()["succeeded"] == 1
    else:
        assert_problem(response, 422)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/webhook-endpoints", {"url": "https://p.example/h", "enabled": 0}, "enabled"),
        ("/v1/webhook-endpoints", {"url": "https://p.example/h", "enabled": "yes"}, "enabled"),
        ("/v1/api-keys", {"name": "k", "scopes": ["admin"], "expires_at": 0}, "expires_at"),
        (
            "/v1/products",
            {"sku": "S1", "name": "P", "price": {"amount": "-1", "currency": "EUR"}},
            "amount",
        ),
        (
            "/v1/products",
            {"sku": "S2", "name": "P", "price": {"amount": "1", "currency": "XYZ"}},
            "currency",
        ),
        ("/v1/segments", {"name": "s", "filters": {"lead_source": "x" * 1_000_000}}, "filters"),
        ("/v1/segments", {"name": "s", "filters": {"tags": ["t"] * 1000}}, "filters"),
    ],
)
async def test_lenient_readings_are_refused(
    client: AsyncClient, workspace: Workspace, path: str, body: dict[str, Any], field: str
) -> None:
    response = await client.post(path, json=body, headers=workspace.headers)
    assert_problem(response, 422, field=field)


async def test_a_date_time_without_an_offset_is_read_as_utc(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    response = await client.post(
        "/v1/interactions",
        json={
            "kind": "call",
            "direction": "outbound",
            "contact_id": contact["id"],
            "occurred_at": "2026-11-01T10:00:00",
        },
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["occurred_at"] in {"2026-11-01T10:00:00Z", "2026-11-01T10:00:00+00:00"}


@pytest.mark.parametrize("value", ["NaN", "-NaN", "sNaN", "Infinity", "-inf", "1e30", "1e300"])
async def test_a_number_custom_field_filter_that_no_value_can_match_is_422(
    client: AsyncClient, workspace: Workspace, value: str
) -> None:
    """Not a 500 from the encoder nor a silent empty page: the filter names its own fault."""
    await make_custom_field(client, workspace, key="score", field_type="number")
    for suffix in ("", "_gte", "_lte"):
        name = f"custom_fields.score{suffix}"
        response = await client.get("/v1/contacts", params={name: value}, headers=workspace.headers)
        assert_problem(response, 422, field=name)


async def test_a_list_value_the_database_refuses_is_a_422_like_any_other(
    client: AsyncClient, workspace: Workspace
) -> None:
    """A value only PostgreSQL can refuse (an integer beyond its column's range) reaches the
    same answer from a list as from any other statement: a 422 with the request's id."""
    response = await client.get(
        "/v1/contacts",
        params={"lead_score_gte": "99999999999"},
        headers={**workspace.headers, "X-Request-ID": "refused-value"},
    )
    assert_problem(response, 422)
    assert response.headers["X-Request-ID"] == "refused-value"
