"""Logs are JSON lines carrying the request id."""

import json
import logging

import pytest
from httpx import AsyncClient

from crm_api.core.logging import configure_logging


async def test_access_log_is_json_with_the_request_id(
    client: AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    # Set up inside the test, where sys.stdout is the one capsys captures.
    configure_logging("INFO")
    try:
        await client.get("/healthz", headers={"X-Request-ID": "log-me-7"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line.get("logger") == "crm_api.access"]
    assert access[-1]["request_id"] == "log-me-7"
    assert access[-1]["status"] == 200
    assert access[-1]["route"] == "/healthz"
