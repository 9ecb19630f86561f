"""The crm-api command, run as a user runs it: in a process of its own."""

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
from fastapi import FastAPI
from httpx import AsyncClient

from crm_api.core.config import Settings
from tests.factories import bearer, new_workspace

CRM_API = str(Path(sys.executable).with_name("crm-api"))


def _environment(**values: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CRM_")}
    return {**environment, **values}


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CRM_API, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _serve_until_ready(env: dict[str, str], log: Path) -> dict[str, int]:
    """Start `crm-api serve`, wait until /readyz answers, probe it, stop it; return statuses."""
    port = _free_port()
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            CRM_API, "serve", "--port", str(port), env=env, stdout=stderr, stderr=stderr
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(600):
                    try:
                        if (await http.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert process.returncode is None, "crm-api serve exited; see its log"
                    await asyncio.sleep(0.1)
                return {
                    path: (await http.get(path)).status_code
                    for path in ("/readyz", "/docs", "/openapi.json", "/v1/contacts")
                }
        finally:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_create_workspace_prints_a_working_admin_key(
    committing_client: AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    assert settings.database_url is not None
    env = _environment(CRM_DATABASE_URL=settings.database_url, CRM_DATA_DIR=str(tmp_path))
    code, out, err = await _run("create-workspace", "From the CLI", env=env)
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    response = await committing_client.get("/v1/workspace", headers=bearer(key))
    assert response.json()["name"] == "From the CLI"
    assert not (tmp_path / "postgres").exists()  # a URL was given: no embedded server


async def test_openapi_writes_the_served_document(tmp_path: Path, app: FastAPI) -> None:
    output = tmp_path / "openapi.json"
    code, _, err = await _run("openapi", "--output", str(output), env=_environment())
    assert code == 0, err
    assert json.loads(output.read_text()) == app.openapi()


async def test_serve_on_a_configured_database(settings: Settings, tmp_path: Path) -> None:
    assert settings.database_url is not None
    env = _environment(CRM_DATABASE_URL=settings.database_url, CRM_DATA_DIR=str(tmp_path / "d"))
    statuses = await _serve_until_ready(env, tmp_path / "serve.log")
    assert statuses == {"/readyz": 200, "/docs": 200, "/openapi.json": 200, "/v1/contacts": 401}
    assert not (tmp_path / "d").exists()


async def test_serve_starts_an_embedded_database_when_none_is_configured(tmp_path: Path) -> None:
    data = tmp_path / "data"
    statuses = await _serve_until_ready(_environment(CRM_DATA_DIR=str(data)), tmp_path / "s.log")
    assert statuses["/readyz"] == 200
    assert (data / "postgres" / "PG_VERSION").exists()
    # Stopping the service stops its server too.
    assert not (data / "postgres" / "postmaster.pid").exists()


async def test_export_writes_a_workspaces_records_with_a_progress_bar(
    committing_app: FastAPI, committing_client: AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    workspace = await new_workspace(committing_app, "Export from the CLI")
    response = await committing_client.post(
        "/v1/contacts/batch",
        json={"operation": "create", "items": [{"first_name": f"n{n}"} for n in range(3)]},
        headers=workspace.headers,
    )
    assert response.json()["succeeded"] == 3
    output = tmp_path / "contacts.jsonl"
    env = _environment(CRM_DATABASE_URL=settings.database_url, CRM_DATA_DIR=str(tmp_path))
    code, _, err = await _run(
        "export",
        "contacts",
        "--workspace",
        str(workspace.id),
        "--format",
        "jsonl",
        "--output",
        str(output),
        env=env,
    )
    assert code == 0, err
    names = sorted(json.loads(line)["first_name"] for line in output.read_text().splitlines())
    assert names == ["n0", "n1", "n2"]
    assert "3/3" in err
    assert "exported 3 contacts" in err
