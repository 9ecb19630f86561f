"""Every operation whose 200/201 answer is one versioned record sends that record's version as
its ETag, in the form ``core.concurrency.etag`` gives (``"<version>"``): the route class sets it
from the answer, so no operation writes it by hand.

The operations are read from the committed OpenAPI document, so a new one is covered as soon as
it exists: a versioned operation this test does not reach with a 200/201 fails it until a
request for it is added below.
"""

import re
import uuid
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.concurrency import etag
from tests.contract import DOCUMENT, PATHS
from tests.factories import Workspace, make_custom_field, make_product
from tests.portal.conftest import sign_up
from tests.test_tenancy import BODIES, FACTORIES

_SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
_PARAM = re.compile(r"\{(\w+)\}")
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _versioned(operation: dict[str, Any]) -> bool:
    for status in ("200", "201"):
        content = operation["responses"].get(status, {}).get("content", {})
        ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        if "version" in _SCHEMAS.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}):
            return True
    return False


VERSIONED = {
    (method.upper(), path)
    for path, operations in PATHS.items()
    for method, operation in operations.items()
    if isinstance(operation, dict) and "responses" in operation and _versioned(operation)
}
_MATCHERS = [
    (method, path, re.compile(_PARAM.sub(_UUID, path))) for method, path in sorted(VERSIONED)
]


def _operation(response: Response) -> tuple[str, str] | None:
    method, path = response.request.method, response.request.url.path
    for candidate, template, pattern in _MATCHERS:
        if candidate == method and pattern.fullmatch(path):
            return method, template
    return None


class Served:
    """Every answer of a versioned operation the client has seen, by operation."""

    def __init__(self, client: AsyncClient) -> None:
        self.answers: dict[tuple[str, str], list[Response]] = {}
        client.event_hooks["response"].append(self.record)

    async def record(self, response: Response) -> None:
        operation = _operation(response)
        if operation is not None and response.status_code in (200, 201):
            await response.aread()
            self.answers.setdefault(operation, []).append(response)


async def _ids(client: AsyncClient, workspace: Workspace, path: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for name in _PARAM.findall(path):
        if name == "stage_id":  # a stage of the pipeline named before it
            pipeline = await client.get(
                f"/v1/pipelines/{ids['pipeline_id']}", headers=workspace.headers
            )
            ids[name] = pipeline.json()["stages"][0]["id"]
            continue
        if name == "custom_field_id":  # a key of its own: tests/test_tenancy.py's is fixed
            field = await make_custom_field(client, workspace, key=f"k{uuid.uuid4().hex[:8]}")
            ids[name] = field["id"]
            continue
        ids[name] = await FACTORIES[name](client, workspace)
    return ids


async def _change(client: AsyncClient, workspace: Workspace, method: str, path: str) -> None:
    ids = await _ids(client, workspace, path)
    url = path.format(**ids)
    if path.endswith("/restore"):
        archived = await client.post(url.replace("/restore", "/archive"), headers=workspace.headers)
        assert archived.status_code == 200, archived.text
    body: Any = BODIES.get((method, path), {})
    if path.endswith("/stages/reorder"):
        pipeline = await client.get(url.removesuffix("/stages/reorder"), headers=workspace.headers)
        body = {"stage_ids": [stage["id"] for stage in reversed(pipeline.json()["stages"])]}
    answer = await client.request(
        method, url, json=body if method != "GET" else None, headers=workspace.headers
    )
    assert answer.status_code in (200, 201), f"{method} {path}: {answer.text}"


async def _portal(client: AsyncClient, connection: AsyncConnection, workspace: Workspace) -> None:
    customer = await sign_up(client, connection, workspace)
    headers = customer.headers
    product = await make_product(client, workspace)
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/v1/portal/me", None),
        ("PATCH", "/v1/portal/me", {"first_name": "Ada"}),
        ("POST", "/v1/portal/tickets", {"subject": "Help", "description": "Please."}),
        ("POST", "/v1/portal/orders", {"lines": [{"product_id": product["id"], "quantity": 1}]}),
    ]
    for method, url, body in requests:
        answer = await client.request(method, url, json=body, headers=headers)
        assert answer.status_code in (200, 201), f"{method} {url}: {answer.text}"
        if url.endswith(("/tickets", "/orders")):
            record = f"{url}/{answer.json()['id']}"
            read = await client.get(record, headers=headers)
            assert read.status_code == 200, read.text
            if url.endswith("/tickets"):
                closed = await client.post(f"{record}/close", headers=headers)
                assert closed.status_code == 200, closed.text


async def test_every_versioned_answer_carries_its_version_as_etag(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    served = Served(client)
    for make in FACTORIES.values():  # every create, through the factories
        await make(client, workspace)
    contact = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "first_name": "Grace"}
    for _ in range(2):  # 201 when new, 200 when the email is known
        upserted = await client.post("/v1/contacts/upsert", json=contact, headers=workspace.headers)
        assert upserted.status_code in (200, 201), upserted.text
    for method, path in sorted(VERSIONED):
        if path.startswith("/v1/portal/") or (method, path) in served.answers:
            continue
        if _PARAM.search(path):
            await _change(client, workspace, method, path)
        else:  # the workspace itself
            answer = await client.request(method, path, json={}, headers=workspace.headers)
            assert answer.status_code == 200, f"{method} {path}: {answer.text}"
    await _portal(client, connection, workspace)

    assert set(served.answers) == VERSIONED, VERSIONED - set(served.answers)
    for operation, answers in served.answers.items():
        for answer in answers:
            assert answer.headers.get("etag") == etag(answer.json()["version"]), operation


async def test_a_custom_field_named_version_is_not_the_records_version(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Only the record's own ``version`` makes its ETag, never one nested inside it."""
    await make_custom_field(client, workspace, key="version", label="Version", field_type="number")
    created = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "custom_fields": {"version": 999}},
        headers=workspace.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["custom_fields"] == {"version": 999}
    read = await client.get(f"/v1/contacts/{created.json()['id']}", headers=workspace.headers)
    for answer in (created, read):
        assert answer.headers["etag"] == etag(answer.json()["version"]) == '"1"'
