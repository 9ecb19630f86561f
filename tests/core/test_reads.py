"""Every read of one record by id, on the one request path every operation takes: the record
with its ETag and the caller's rate-limit standing, 304 when If-None-Match names the version,
and the same problems (401, 403, 404) wherever the read is. The reads are taken from the
committed OpenAPI document, so a new one is covered as soon as it exists."""

import re
import uuid

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from tests.contract import PATHS
from tests.factories import Workspace, make_api_key
from tests.problems import assert_problem
from tests.test_tenancy import FACTORIES

_PARAM = re.compile(r"\{(\w+)\}")
READS = sorted(
    path
    for path, item in PATHS.items()
    if "get" in item
    and path.startswith("/v1/")
    and not path.startswith("/v1/portal/")  # a customer's reads: tests/portal
    and path.endswith("}")
    and len(_PARAM.findall(path)) == 1
)


def test_the_reads_are_found() -> None:
    assert {"/v1/contacts/{contact_id}", "/v1/orders/{order_id}"} <= set(READS)
    assert len(READS) >= 20


def _standing(headers: object) -> None:
    """Where the key stands in its rate limit, on every answer to a key."""
    assert re.fullmatch(r'"api-key";r=\d+;t=\d+', headers["ratelimit"])  # type: ignore[index]
    assert headers["ratelimit-policy"].startswith('"api-key";')  # type: ignore[index]


@pytest.mark.parametrize("path", READS)
async def test_a_read_by_id_answers_alike_wherever_it_is(
    path: str, client: AsyncClient, workspace: Workspace, other_workspace: Workspace
) -> None:
    (param,) = _PARAM.findall(path)
    record_id = await FACTORIES[param](client, workspace)
    url = path.replace(f"{{{param}}}", record_id)

    read = await client.get(url, headers=workspace.headers)
    assert read.status_code == 200, read.text
    assert read.headers["content-type"] == "application/json"
    assert read.json()["id"] == record_id
    _standing(read.headers)
    version = read.json().get("version")
    if version is not None:
        tag = read.headers["etag"]
        assert tag == f'"{version}"'
        unchanged = await client.get(url, headers={**workspace.headers, "If-None-Match": tag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == tag
        _standing(unchanged.headers)

    missing = await client.get(
        path.replace(f"{{{param}}}", str(uuid.uuid4())), headers=workspace.headers
    )
    assert_problem(missing, 404)
    _standing(missing.headers)
    elsewhere = await client.get(url, headers=other_workspace.headers)
    assert_problem(elsewhere, 404)

    anonymous = await client.get(url)
    assert_problem(anonymous, 401)
    assert anonymous.headers["www-authenticate"].startswith("Bearer")

    needed = PATHS[path]["get"]["security"][0]["ApiKey"]
    other_scope = next(s for s in ("audit:read", "kpis:read") if s not in needed)
    narrow = await make_api_key(client, workspace, other_scope)
    refused = await client.get(url, headers={"Authorization": f"Bearer {narrow}"})
    problem = assert_problem(refused, 403)
    if needed:  # else the scope depends on the record (an import's, on its resource)
        assert problem["missing_scope"] in needed
    _standing(refused.headers)


async def test_a_read_runs_outside_a_transaction_and_a_write_inside_one(
    committing_app: FastAPI,
) -> None:
    """GET and HEAD sessions run each statement on its own (no BEGIN/COMMIT round trips);
    every other method keeps one transaction for the whole request."""
    router = crm_router("/transactions", "Tests")
    statement = text("SELECT pg_current_xact_id()::text")

    async def transaction_ids(session: AsyncSession) -> list[str]:
        return [str(await session.scalar(statement)) for _ in range(2)]

    @router.get("")
    async def read(session: SessionDep) -> list[str]:
        return await transaction_ids(session)

    @router.patch("")
    async def write(session: SessionDep) -> list[str]:
        return await transaction_ids(session)

    committing_app.include_router(router)
    transport = ASGITransport(app=committing_app)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        first, second = (await client.get("/transactions")).json()
        assert first != second
        first, second = (await client.patch("/transactions", json={})).json()
        assert first == second
