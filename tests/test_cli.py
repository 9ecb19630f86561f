"""The crm-api command, run as a user runs it: in a process of its own."""

import asyncio
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import text

from crm_api.core.config import Settings
from tests.factories import bearer, new_workspace

CRM_API = str(Path(sys.executable).with_name("crm-api"))
# Generous enough for a loaded 2-core machine: a cold start (imports, migrations) can take a
# minute there, and the first /openapi.json several seconds.
START_SECONDS = 240
HTTP = httpx.Timeout(60.0)


def _environment(**values: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CRM_")}
    return {**environment, **values}


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        CRM_API, *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), START_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_ready(http: AsyncClient, process: asyncio.subprocess.Process) -> None:
    """Until /readyz answers 200; fails if the process exits or START_SECONDS pass first."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.returncode is None, "crm-api serve exited; see its log"
        await asyncio.sleep(0.1)
    raise AssertionError(f"crm-api serve was not ready within {START_SECONDS} s; see its log")


async def _serve_until_ready(
    env: dict[str, str], log: Path, stop: signal.Signals = signal.SIGINT
) -> dict[str, int]:
    """Start `crm-api serve`, wait until /readyz answers, probe it, stop it; return statuses."""
    port = _free_port()
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            CRM_API, "serve", "--port", str(port), env=env, stdout=stderr, stderr=stderr
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=HTTP) as http:
                await _wait_ready(http, process)
                return {
                    path: (await http.get(path)).status_code
                    for path in ("/readyz", "/docs", "/openapi.json", "/v1/contacts")
                }
        finally:
            process.send_signal(stop)
            try:
                await asyncio.wait_for(process.wait(), 60)
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
    env = _environment(CRM_DATA_DIR=str(data))
    statuses = await _serve_until_ready(env, tmp_path / "s.log", stop=signal.SIGTERM)
    assert statuses["/readyz"] == 200
    assert (data / "postgres" / "PG_VERSION").exists()
    # Stopping the service (SIGTERM, as systemd or a container runtime does) stops its server.
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


async def test_import_loads_a_file_with_a_progress_bar(
    committing_app: FastAPI, committing_client: AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    workspace = await new_workspace(committing_app, "Import from the CLI")
    source = tmp_path / "people.csv"
    source.write_text(
        "Mail,Given\n" + "".join(f"p{n}@example.com,P{n}\n" for n in range(30)) + "bad,Bad\n"
    )
    env = _environment(
        CRM_DATABASE_URL=settings.database_url,
        CRM_DATA_DIR=str(tmp_path),
        CRM_IMPORT_CHUNK_ROWS="10",
    )
    code, _, err = await _run(
        "import",
        "contacts",
        str(source),
        "--workspace",
        str(workspace.id),
        "--map",
        "Mail=email",
        "--map",
        "Given=first_name",
        env=env,
    )
    assert code == 0, err
    assert "31/31" in err
    assert "30 created, 0 updated, 0 unchanged, 1 failed" in err
    listed = await committing_client.get(
        "/v1/contacts", params={"first_name": "P7"}, headers=workspace.headers
    )
    assert [contact["email"] for contact in listed.json()["data"]] == ["p7@example.com"]
    imports = await committing_client.get("/v1/imports", headers=workspace.headers)
    (job,) = imports.json()["data"]
    assert (job["status"], job["actor_type"], job["failed"]) == ("succeeded", "system", 1)

    code, _, err = await _run(
        "import", "contacts", str(source), "--workspace", str(workspace.id), env=env
    )
    assert code == 1
    assert "mapping" in err


async def test_an_import_interrupted_by_a_restart_completes_afterwards(
    committing_app: FastAPI, committing_client: AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """`crm-api serve` (with its worker) killed mid-import; started again, it finishes the job:
    every row loaded once, one creation event each, nothing half-written."""
    workspace = await new_workspace(committing_app, "Import across a restart")
    rows = 5_000
    content = "email,last_name\n" + "".join(f"r{n}@example.com,R{n}\n" for n in range(rows))
    env = _environment(
        CRM_DATABASE_URL=settings.database_url,
        CRM_DATA_DIR=str(tmp_path),
        CRM_IMPORT_CHUNK_ROWS="100",
        CRM_IMPORT_LEASE_SECONDS="1",
        CRM_WORKER_POLL_SECONDS="0.05",
        CRM_RATE_LIMIT="100000/minute",
    )
    port = _free_port()
    base = f"http://127.0.0.1:{port}"

    async def start() -> asyncio.subprocess.Process:
        log = (tmp_path / "serve.log").open("ab")
        process = await asyncio.create_subprocess_exec(
            CRM_API, "serve", "--port", str(port), env=env, stdout=log, stderr=log
        )
        async with httpx.AsyncClient(base_url=base, timeout=HTTP) as http:
            await _wait_ready(http, process)
        return process

    process = await start()
    try:
        async with httpx.AsyncClient(
            base_url=base, headers=workspace.headers, timeout=HTTP
        ) as http:
            created = await http.post(
                "/v1/imports",
                files={"file": ("rows.csv", content.encode(), "text/csv")},
                data={"resource": "contacts"},
            )
            assert created.status_code == 201, created.text
            location = created.headers["Location"]
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline:
                job = (await http.get(location)).json()
                if job["rows_done"] > 0:
                    break
                await asyncio.sleep(0.01)
            process.send_signal(signal.SIGKILL)
            await process.wait()
        assert job["status"] == "running"
        assert 0 < job["rows_done"] < rows

        process = await start()
        async with httpx.AsyncClient(
            base_url=base, headers=workspace.headers, timeout=HTTP
        ) as http:
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline:
                job = (await http.get(location)).json()
                if job["status"] != "running":
                    break
                await asyncio.sleep(0.05)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
                await process.wait()
    assert (job["status"], job["rows_done"], job["created"], job["failed"]) == (
        "succeeded",
        rows,
        rows,
        0,
    )
    async with committing_app.state.sessionmaker() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM contacts WHERE workspace_id = :w), "
                    "count(DISTINCT resource_id), count(*) FROM events "
                    "WHERE workspace_id = :w AND type = 'contact.created'"
                ),
                {"w": workspace.id},
            )
        ).one()
    assert tuple(counts) == (rows, rows, rows)
