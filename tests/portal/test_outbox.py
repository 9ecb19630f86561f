"""The email outbox's sender against a real SMTP server on loopback (aiosmtpd), and its
retries when the server is away."""

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm_api.core.config import Settings
from crm_api.emails.outbox import send_due
from tests.factories import Workspace, invite, make_contact


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.received.append(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def _status(connection: AsyncConnection, address: str) -> tuple[str, int]:
    row = (
        await connection.execute(
            text("SELECT status, attempts FROM email_outbox WHERE to_address = :to"),
            {"to": address},
        )
    ).one()
    return row[0], row[1]


async def test_the_outbox_is_sent_over_smtp(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    contact = await make_contact(client, workspace, email="smtp@example.com")
    await invite(client, workspace, contact["id"])
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False, smtp_from="crm@acme.example"
    )
    sessionmaker = client._transport.app.state.sessionmaker  # type: ignore[attr-defined]
    while await send_due(sessionmaker, settings):
        pass
    assert await _status(connection, "smtp@example.com") == ("sent", 1)
    [received] = inbox.received
    assert received["To"] == "smtp@example.com"
    assert received["From"] == "crm@acme.example"
    assert "accept-invitation?token=" in received.get_payload()
    assert message_from_bytes(received.as_bytes())["Subject"].endswith("customer portal")


async def test_a_failed_send_is_retried_later(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    caplog: pytest.LogCaptureFixture,
) -> None:
    contact = await make_contact(client, workspace, email="retry@example.com")
    await invite(client, workspace, contact["id"])
    settings = Settings(smtp_host="127.0.0.1", smtp_port=_free_port(), smtp_starttls=False)
    sessionmaker = client._transport.app.state.sessionmaker  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="crm_api"):
        assert await send_due(sessionmaker, settings) == 1  # nothing listens: refused
    assert await _status(connection, "retry@example.com") == ("pending", 1)
    # Not silent, and the log names the message, never the address.
    (warning,) = [r.getMessage() for r in caplog.records if "not sent" in r.getMessage()]
    assert "ConnectionRefusedError" in warning
    assert "retry@example.com" not in caplog.text
    assert await send_due(sessionmaker, settings) == 0  # not due again yet
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=3), tick=False):
        assert await send_due(sessionmaker, settings) == 1
    assert await _status(connection, "retry@example.com") == ("pending", 2)
