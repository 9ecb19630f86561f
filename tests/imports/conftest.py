import json
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response

from crm_api.core.config import Settings
from crm_api.imports.jobs import run_next
from tests.factories import Workspace


async def upload(
    client: AsyncClient,
    workspace: Workspace,
    content: bytes | str,
    *,
    resource: str = "contacts",
    filename: str = "rows.csv",
    mode: str = "create",
    mapping: dict[str, str] | str | None = None,
    **form: Any,
) -> Response:
    data = {"resource": resource, "mode": mode, **form}
    if mapping is not None:
        data["mapping"] = mapping if isinstance(mapping, str) else json.dumps(mapping)
    body = content.encode() if isinstance(content, str) else content
    return await client.post(
        "/v1/imports",
        headers=workspace.headers,
        files={"file": (filename, body, "application/octet-stream")},
        data=data,
    )


async def run_imports(app: FastAPI, settings: Settings) -> None:
    """What the worker does: every waiting job, to its end."""
    while await run_next(app.state.sessionmaker, settings) is not None:
        pass


async def imported(
    client: AsyncClient,
    app: FastAPI,
    settings: Settings,
    workspace: Workspace,
    content: str,
    **kw: Any,
) -> dict[str, Any]:
    """Upload, run the worker, and return the finished job."""
    response = await upload(client, workspace, content, **kw)
    assert response.status_code == 201, response.text
    await run_imports(app, settings)
    job = await client.get(response.headers["Location"], headers=workspace.headers)
    assert job.status_code == 200
    result: dict[str, Any] = job.json()
    return result


async def errors_of(
    client: AsyncClient, workspace: Workspace, job: dict[str, Any]
) -> dict[int, Any]:
    response = await client.get(
        f"/v1/imports/{job['id']}/errors", params={"limit": 100}, headers=workspace.headers
    )
    assert response.status_code == 200
    return {item["row"]: item["errors"] for item in response.json()["data"]}
