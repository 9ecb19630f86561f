"""Every path that writes a record writes the same record: the same row, lifecycle or stage
history, event and audit entry, whether it came from the API, a batch, an import or an upsert.

Each path creates (or changes) an equivalent record, differing only in the natural key the
paths cannot share (a contact's email, a company's domain); what each wrote is then read back
through the API and compared with that key, ids and times taken out.
"""

import difflib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.core.config import Settings
from tests.factories import (
    Workspace,
    make_company,
    make_custom_field,
    make_member,
    make_pipeline,
)
from tests.imports.conftest import imported

_VARYING = frozenset({"id"})
_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _same_shape(value: Any, key_field: str, key: str) -> Any:
    """The value with its id, its instants and the path's own key taken out, to compare."""
    if isinstance(value, dict):
        return {
            name: _same_shape(item, key_field, key)
            for name, item in value.items()
            if name not in _VARYING and name != key_field
        }
    if isinstance(value, list):
        return [_same_shape(item, key_field, key) for item in value]
    if isinstance(value, str) and _INSTANT.match(value):
        return "<instant>"  # when it happened differs by path; whether it did must not
    if isinstance(value, str) and key in value:
        return value.replace(key, "<key>")
    return value


async def _written(
    client: AsyncClient, workspace: Workspace, kind: str, record_id: str
) -> dict[str, Any]:
    """What the API shows of a record and of what its writing left behind."""
    headers = workspace.headers
    response = await client.get(f"{_collection(kind)}/{record_id}", headers=headers)
    assert response.status_code == 200, response.text
    record = response.json()
    events = (
        await client.get("/v1/events", params={"resource_id": record_id}, headers=headers)
    ).json()["data"]
    audit = (
        await client.get("/v1/audit-log", params={"record_id": record_id}, headers=headers)
    ).json()["data"]
    written = {
        "record": record,
        "events": [
            {name: event[name] for name in ("type", "resource_type", "actor_type", "data")}
            for event in events
        ],
        "audit": [
            {name: entry[name] for name in ("action", "record_type", "actor_type", "changes")}
            for entry in audit
        ],
    }
    history = {"contact": "lifecycle-history", "deal": "stage-history"}.get(kind)
    if history is not None:
        response = await client.get(f"{_collection(kind)}/{record_id}/{history}", headers=headers)
        written["history"] = response.json()["data"]
    return written


def _all_alike(expected: dict[str, Any], written: dict[str, Any]) -> None:
    """Each path's writing is the first path's, or the failure shows how they differ."""
    wanted = json.dumps(expected, indent=1, sort_keys=True).splitlines()
    for name, seen in written.items():
        if seen != expected:
            got = json.dumps(seen, indent=1, sort_keys=True).splitlines()
            diff = "\n".join(difflib.unified_diff(wanted, got, "first path", name, lineterm=""))
            pytest.fail(f"{name} wrote otherwise:\n{diff}")


Path = Callable[[dict[str, Any]], Awaitable[str]]


def _collection(kind: str) -> str:
    return {"contact": "/v1/contacts", "company": "/v1/companies", "deal": "/v1/deals"}[kind]


def _paths(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace, kind: str
) -> dict[str, Path]:
    collection = _collection(kind)

    async def api(body: dict[str, Any]) -> str:
        response = await client.post(collection, json=body, headers=workspace.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def batch(body: dict[str, Any], operation: str = "create") -> str:
        response = await client.post(
            f"{collection}/batch",
            json={"operation": operation, "items": [body]},
            headers=workspace.headers,
        )
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["status"] == 201, result
        return str(result["id"])

    async def batch_upsert(body: dict[str, Any]) -> str:
        return await batch(body, "upsert")

    async def import_as(body: dict[str, Any], mode: str = "create") -> str:
        key, value = _natural_key(kind, body)
        line = json.dumps(body)
        job = await imported(
            client,
            app,
            settings,
            workspace,
            line + "\n",
            resource=collection.removeprefix("/v1/"),
            filename="rows.jsonl",
            mode=mode,
        )
        assert (job["status"], job["created"]) == ("succeeded", 1), job
        found = await client.get(collection, params={key: value}, headers=workspace.headers)
        (record,) = found.json()["data"]
        return str(record["id"])

    async def import_upsert(body: dict[str, Any]) -> str:
        return await import_as(body, "upsert")

    paths = {"POST": api, "batch create": batch, "import (create)": import_as}
    if kind != "deal":  # deals have no natural key to upsert on
        paths |= {"batch upsert": batch_upsert, "import (upsert)": import_upsert}
    return paths


def _natural_key(kind: str, body: dict[str, Any]) -> tuple[str, str]:
    """How a list finds the record an import wrote: its key, or a deal by its (unique) name."""
    name = {"contact": "email", "company": "domain", "deal": "name"}[kind]
    return ("q" if kind == "deal" else name), body[name]


async def _compare(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    kind: str,
    key_field: str,
    body_for: Callable[[str], dict[str, Any]],
    key_for: Callable[[str], str],
) -> None:
    written: dict[str, Any] = {}
    for n, (name, path) in enumerate(_paths(client, app, settings, workspace, kind).items()):
        key = key_for(f"path{n}")
        record_id = await path(body_for(key))
        written[name] = _same_shape(
            await _written(client, workspace, kind, record_id), key_field, key
        )
    expected = written.pop("POST")
    # What is compared exists: the creation's event and audit entry (a won deal has two).
    assert len(expected["events"]) == len(expected["audit"]) >= 1
    assert expected.get("history", [None])  # a contact's or deal's history, when it has one
    _all_alike(expected, written)


async def test_a_contact_created_through_any_path_is_the_same_contact(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_custom_field(client, workspace, key="tier", field_type="text")
    rule = {"name": "Referred", "kind": "attribute", "points": 15, "field": "lead_source"}
    response = await client.post(
        "/v1/lead-scoring-rules", json={**rule, "value": "referral"}, headers=workspace.headers
    )
    assert response.status_code == 201, response.text
    company = await make_company(client, workspace, domain="acme.example")
    owner = await make_member(client, workspace)

    def body(email: str) -> dict[str, Any]:
        return {
            "email": email,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "job_title": "Analyst",
            "phones": [{"label": "work", "number": "+44 20 7946 0958"}],
            "tags": ["vip", "math"],
            "lifecycle_stage": "customer",
            "lead_source": "referral",
            "address": {"city": "London", "country": "GB"},
            "custom_fields": {"tier": "gold"},
            "company_id": company["id"],
            "owner_id": owner["id"],
        }

    await _compare(
        client,
        app,
        settings,
        workspace,
        "contact",
        "email",
        body,
        lambda key: f"{key}@example.com",
    )


async def test_a_company_created_through_any_path_is_the_same_company(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    await make_custom_field(client, workspace, entity="company", key="tier")

    def body(domain: str) -> dict[str, Any]:
        return {
            "domain": domain,
            "name": "Acme Ltd",
            "industry": "software",
            "employee_count": 120,
            "annual_revenue": {"amount": "1200000.50", "currency": "EUR"},
            "tags": ["key"],
            "address": {"city": "Berlin", "country": "DE"},
            "custom_fields": {"tier": "gold"},
        }

    await _compare(
        client,
        app,
        settings,
        workspace,
        "company",
        "domain",
        body,
        lambda key: f"{key}.example",
    )


async def test_a_deal_created_through_any_path_is_the_same_deal(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    """With no pipeline named the workspace's first pipeline and its first stage are taken, and
    a deal created in a won stage is closed at once, on every path."""
    first = await make_pipeline(client, workspace, name="Sales")
    await make_pipeline(client, workspace, name="Renewals")
    won = next(stage for stage in first["stages"] if stage["kind"] == "won")
    company = await make_company(client, workspace, domain="acme.example")
    for where in ({}, {"pipeline_id": first["id"], "stage_id": won["id"]}):

        def body(name: str, where: dict[str, Any] = where) -> dict[str, Any]:
            return {
                "name": name,
                "amount": {"amount": "2500.00", "currency": "EUR"},
                "company_id": company["id"],
                "expected_close_date": "2027-01-31",
                "source": "inbound",
                "tags": ["q1"],
                **where,
            }

        await _compare(
            client,
            app,
            settings,
            workspace,
            "deal",
            "name",
            body,
            lambda key, where=where: f"Deal {key} {len(where)}",
        )


def _change_paths(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace, kind: str
) -> dict[str, Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]]:
    """Ways to change a record: (the record as created, the change) -> None."""
    collection = _collection(kind)
    key_name = {"contact": "email", "company": "domain"}[kind]

    async def patch(record: dict[str, Any], change: dict[str, Any]) -> None:
        response = await client.patch(
            f"{collection}/{record['id']}",
            json=change,
            headers={**workspace.headers, "If-Match": f'"{record["version"]}"'},
        )
        assert response.status_code == 200, response.text

    async def batch(operation: str, item: dict[str, Any]) -> None:
        response = await client.post(
            f"{collection}/batch",
            json={"operation": operation, "items": [item]},
            headers=workspace.headers,
        )
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["status"] == 200, result

    async def batch_update(record: dict[str, Any], change: dict[str, Any]) -> None:
        await batch("update", {"id": record["id"], "version": record["version"], "data": change})

    async def batch_upsert(record: dict[str, Any], change: dict[str, Any]) -> None:
        await batch("upsert", {key_name: record[key_name], **change})

    async def import_upsert(record: dict[str, Any], change: dict[str, Any]) -> None:
        job = await imported(
            client,
            app,
            settings,
            workspace,
            json.dumps({key_name: record[key_name], **change}) + "\n",
            resource=collection.removeprefix("/v1/"),
            filename="rows.jsonl",
            mode="upsert",
        )
        assert (job["status"], job["updated"]) == ("succeeded", 1), job

    return {
        "PATCH": patch,
        "batch update": batch_update,
        "batch upsert": batch_upsert,
        "import (upsert)": import_upsert,
    }


async def _compare_changes(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    kind: str,
    body_for: Callable[[str], dict[str, Any]],
    change: dict[str, Any],
) -> None:
    key_name = {"contact": "email", "company": "domain"}[kind]
    written: dict[str, Any] = {}
    for n, (name, path) in enumerate(_change_paths(client, app, settings, workspace, kind).items()):
        key = body_for(f"change{n}")[key_name]
        response = await client.post(
            _collection(kind), json=body_for(f"change{n}"), headers=workspace.headers
        )
        assert response.status_code == 201, response.text
        record = response.json()
        await path(record, change)
        written[name] = _same_shape(
            await _written(client, workspace, kind, record["id"]), key_name, key
        )
    expected = written.pop("PATCH")
    assert len(expected["events"]) == len(expected["audit"]) == 2  # created, then updated
    _all_alike(expected, written)


async def test_a_contact_changed_through_any_path_is_changed_alike(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    """The same change, sent as PATCH, a batch update or upsert, or an upsert import, leaves the
    same contact, history, events and audit entries; nested objects merge as in PATCH."""
    await make_custom_field(client, workspace, key="tier", field_type="text")
    rule = {"name": "Referred", "kind": "attribute", "points": 15, "field": "lead_source"}
    response = await client.post(
        "/v1/lead-scoring-rules", json={**rule, "value": "referral"}, headers=workspace.headers
    )
    assert response.status_code == 201, response.text

    def body(key: str) -> dict[str, Any]:
        return {
            "email": f"{key}@example.com",
            "first_name": "Ada",
            "lifecycle_stage": "lead",
            "address": {"city": "London", "country": "GB"},
            "custom_fields": {"tier": "silver"},
            "tags": ["a"],
        }

    change = {
        "lifecycle_stage": "customer",
        "lead_source": "referral",
        "job_title": "Analyst",
        "address": {"city": None, "region": "Kent"},
        "custom_fields": {"tier": "gold"},
        "tags": ["b", "c"],
    }
    await _compare_changes(client, app, settings, workspace, "contact", body, change)


async def test_a_company_changed_through_any_path_is_changed_alike(
    client: AsyncClient, app: FastAPI, settings: Settings, workspace: Workspace
) -> None:
    def body(key: str) -> dict[str, Any]:
        return {
            "domain": f"{key}.example",
            "name": "Acme Ltd",
            "address": {"city": "Berlin", "country": "DE"},
            "employee_count": 10,
        }

    change = {
        "name": "Acme GmbH",
        "employee_count": 12,
        "annual_revenue": {"amount": "5.00", "currency": "EUR"},
        "address": {"city": None, "line1": "Hauptstr. 1"},
    }
    await _compare_changes(client, app, settings, workspace, "company", body, change)
