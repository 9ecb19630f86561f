"""The committed OpenAPI document is the contract: it must equal what the app serves."""

from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.contract import DOCUMENT


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_committed_document_equals_the_served_one(app: FastAPI) -> None:
    assert app.openapi() == DOCUMENT, "run `crm-api openapi` and commit the result"


def test_every_operation_is_documented(app: FastAPI) -> None:
    document = app.openapi()
    operation_ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, operation in _operations(document):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("tags"), f"{method} {path} has no tag"
        if path.startswith("/v1/"):
            for status in ("401", "403", "422", "429"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], f"{method} {path} {status}"
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path} documents no 404"


async def test_the_app_serves_the_document(client: AsyncClient, app: FastAPI) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == app.openapi()
    assert (await client.get("/docs")).status_code == 200
