"""Logs are JSON lines carrying the request id."""

import json
import logging
from collections.abc import Iterator

import pytest
from httpx import AsyncClient

from crm_api.core.logging import configure_logging


@pytest.fixture
def json_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """JSON logging set up after capsys, so that its handler writes to the captured stdout."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def test_access_log_is_json_with_the_request_id(
    client: AsyncClient, json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    await client.get("/healthz", headers={"X-Request-ID": "log-me-7"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    access = [line for line in lines if line.get("logger") == "crm_api.access"]
    assert access[-1]["request_id"] == "log-me-7"
    assert access[-1]["status"] == 200
    assert access[-1]["route"] == "/healthz"
