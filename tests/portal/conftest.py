"""Portal customers for tests: a contact invited by staff, the invitation read from the email
outbox, accepted with a password."""

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.factories import Workspace, invite, make_contact

PASSWORD = "correct horse battery staple"


@dataclass
class Customer:
    workspace: Workspace
    contact: dict[str, Any]
    user_id: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @property
    def email(self) -> str:
        return str(self.contact["email"])


async def emails_to(connection: AsyncConnection, address: str) -> list[tuple[str, str]]:
    """(subject, body) of every email queued to `address`, oldest first."""
    rows = await connection.execute(
        text(
            "SELECT subject, body FROM email_outbox WHERE to_address = :to ORDER BY created_at, id"
        ),
        {"to": address.lower()},
    )
    return [(subject, body) for subject, body in rows]


def token_in(body: str) -> str:
    found = re.search(r"token=([^\s]+)", body)
    assert found, body
    return unquote(found.group(1))


async def latest_token(connection: AsyncConnection, address: str) -> str:
    emails = await emails_to(connection, address)
    assert emails, f"no email to {address}"
    return token_in(emails[-1][1])


async def sign_up(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    password: str | None = PASSWORD,
    **contact_fields: Any,
) -> Customer:
    contact_fields.setdefault("email", f"{uuid.uuid4().hex[:10]}@example.com")
    contact = await make_contact(client, workspace, **contact_fields)
    invitation = await invite(client, workspace, contact["id"])
    token = await latest_token(connection, contact["email"])
    body: dict[str, Any] = {"token": token}
    if password is not None:
        body["password"] = password
    response = await client.post("/v1/portal/invitations/accept", json=body)
    assert response.status_code == 200, response.text
    tokens = response.json()
    return Customer(
        workspace,
        contact,
        invitation["portal_user"]["id"],
        tokens["access_token"],
        tokens["refresh_token"],
    )
