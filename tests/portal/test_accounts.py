"""Portal sign-in end to end: invitations through the email outbox, passwords, magic links,
token expiry, refresh rotation with reuse detection, rate limits, and the wall between portal
tokens and API keys."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import time_machine
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_api.core.config import Settings
from crm_api.emails.outbox import send_due
from tests.conftest import bind_to_test_connection, make_app
from tests.factories import Workspace, invite, make_contact
from tests.portal.conftest import PASSWORD, emails_to, latest_token, sign_up, token_in
from tests.problems import assert_problem


async def test_invitation_flow_through_the_email_outbox(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace, email="Ada@Example.com")
    invitation = await invite(client, workspace, contact["id"])
    assert invitation["portal_user"]["status"] == "invited"
    assert invitation["portal_user"]["email"] == "ada@example.com"
    emails = await emails_to(connection, "ada@example.com")
    assert len(emails) == 1
    subject, body = emails[0]
    assert "customer portal" in subject
    assert "http://localhost:3000/accept-invitation?token=" in body
    token = token_in(body)
    stored = await connection.scalar(
        text(
            "SELECT count(*) FROM portal_tokens WHERE token_hash = sha256(convert_to(:t, 'UTF8'))"
        ),
        {"t": token},
    )
    assert stored == 1  # its hash is kept, not the token

    # Staff cannot see the token anywhere in the API.
    account = await client.get(
        f"/v1/portal-users/{invitation['portal_user']['id']}", headers=workspace.headers
    )
    assert token not in account.text

    accepted = await client.post(
        "/v1/portal/invitations/accept", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    tokens = accepted.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    me = await client.get(
        "/v1/portal/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["id"] == contact["id"]

    # Single use.
    again = await client.post("/v1/portal/invitations/accept", json={"token": token})
    assert_problem(again, 401)
    active = await client.get(
        f"/v1/portal-users/{invitation['portal_user']['id']}", headers=workspace.headers
    )
    assert active.json()["status"] == "active"
    assert active.json()["last_sign_in_at"] is not None
    # An active account is not invited twice.
    assert_problem(
        await client.post(
            f"/v1/contacts/{contact['id']}/portal-invitations", headers=workspace.headers
        ),
        409,
    )

    # The worker sends the outbox (to the log without CRM_SMTP_HOST) and marks it sent.
    sessionmaker = client._transport.app.state.sessionmaker  # type: ignore[attr-defined]
    while await send_due(sessionmaker, Settings()):
        pass
    status = await connection.scalar(
        text("SELECT status FROM email_outbox WHERE to_address = 'ada@example.com'")
    )
    assert status == "sent"


async def test_invitations_expire_and_a_new_one_replaces_the_old(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace, email="late@example.com")
    await invite(client, workspace, contact["id"])
    first = await latest_token(connection, contact["email"])
    await invite(client, workspace, contact["id"])
    second = await latest_token(connection, contact["email"])
    assert first != second
    assert_problem(await client.post("/v1/portal/invitations/accept", json={"token": first}), 401)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=73), tick=False):
        late = await client.post("/v1/portal/invitations/accept", json={"token": second})
    assert_problem(late, 401)
    # No email, no invitation; nor for another workspace's contact.
    nameless = await make_contact(client, workspace, first_name="Nobody")
    response = await client.post(
        f"/v1/contacts/{nameless['id']}/portal-invitations", headers=workspace.headers
    )
    assert_problem(response, 422, field="contact_id")


async def test_password_sign_in_and_magic_links(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    body = {
        "workspace_id": str(workspace.id),
        "email": customer.email.upper(),
        "password": PASSWORD,
    }
    signed_in = await client.post("/v1/portal/sign-in", json=body)
    assert signed_in.status_code == 200, signed_in.text
    wrong = await client.post("/v1/portal/sign-in", json={**body, "password": "not it at all"})
    assert_problem(wrong, 401)
    nobody = await client.post("/v1/portal/sign-in", json={**body, "email": "nobody@example.com"})
    assert_problem(nobody, 401)
    assert nobody.json()["detail"] == wrong.json()["detail"]  # no account enumeration

    asked = await client.post(
        "/v1/portal/magic-links", json={"workspace_id": str(workspace.id), "email": customer.email}
    )
    assert asked.status_code == 202
    unknown = await client.post(
        "/v1/portal/magic-links",
        json={"workspace_id": str(workspace.id), "email": "nobody@example.com"},
    )
    assert unknown.status_code == 202
    assert await emails_to(connection, "nobody@example.com") == []
    link = await latest_token(connection, customer.email)
    redeemed = await client.post("/v1/portal/magic-links/redeem", json={"token": link})
    assert redeemed.status_code == 200, redeemed.text
    assert_problem(await client.post("/v1/portal/magic-links/redeem", json={"token": link}), 401)

    # Changing the password needs the current one.
    headers = {"Authorization": f"Bearer {redeemed.json()['access_token']}"}
    bad = await client.post(
        "/v1/portal/password",
        json={"current_password": "wrong guess!", "new_password": "a brand new secret"},
        headers=headers,
    )
    assert_problem(bad, 422, field="current_password")
    changed = await client.post(
        "/v1/portal/password",
        json={"current_password": PASSWORD, "new_password": "a brand new secret"},
        headers=headers,
    )
    assert changed.status_code == 204
    assert_problem(await client.post("/v1/portal/sign-in", json=body), 401)
    renewed = await client.post(
        "/v1/portal/sign-in", json={**body, "password": "a brand new secret"}
    )
    assert renewed.status_code == 200


async def test_access_tokens_expire_after_15_minutes(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=14), tick=False):
        assert (await client.get("/v1/portal/me", headers=customer.headers)).status_code == 200
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16), tick=False):
        expired = await client.get("/v1/portal/me", headers=customer.headers)
        assert_problem(expired, 401)
        assert "expired" in expired.json()["detail"]
        refreshed = await client.post(
            "/v1/portal/tokens/refresh", json={"refresh_token": customer.refresh_token}
        )
        assert refreshed.status_code == 200, refreshed.text
        fresh = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
        assert (await client.get("/v1/portal/me", headers=fresh)).status_code == 200
    tampered = customer.access_token[:-2] + ("AA" if customer.access_token[-2:] != "AA" else "BB")
    assert_problem(
        await client.get("/v1/portal/me", headers={"Authorization": f"Bearer {tampered}"}), 401
    )


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    first = customer.refresh_token
    rotated = await client.post("/v1/portal/tokens/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    # A second sign-in is another family, untouched by what follows.
    other = await client.post(
        "/v1/portal/sign-in",
        json={"workspace_id": str(workspace.id), "email": customer.email, "password": PASSWORD},
    )
    other_refresh = other.json()["refresh_token"]

    reused = await client.post("/v1/portal/tokens/refresh", json={"refresh_token": first})
    assert_problem(reused, 401)
    assert "already used" in reused.json()["detail"]
    # The thief's reuse took the legitimate newer token down with it.
    assert_problem(
        await client.post("/v1/portal/tokens/refresh", json={"refresh_token": second}), 401
    )
    still = await client.post("/v1/portal/tokens/refresh", json={"refresh_token": other_refresh})
    assert still.status_code == 200

    # Signing out revokes that family too.
    latest = still.json()["refresh_token"]
    out = await client.post("/v1/portal/sign-out", json={"refresh_token": latest})
    assert out.status_code == 204
    assert_problem(
        await client.post("/v1/portal/tokens/refresh", json={"refresh_token": latest}), 401
    )
    fresh = await sign_up(client, connection, workspace)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=31), tick=False):
        expired = await client.post(
            "/v1/portal/tokens/refresh", json={"refresh_token": fresh.refresh_token}
        )
    assert_problem(expired, 401)


async def test_disabling_an_account_stops_its_tokens(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    url = f"/v1/portal-users/{customer.user_id}"
    disabled = await client.post(f"{url}/disable", headers=workspace.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["status"] == "disabled"
    assert_problem(await client.get("/v1/portal/me", headers=customer.headers), 401)
    assert_problem(
        await client.post(
            "/v1/portal/tokens/refresh", json={"refresh_token": customer.refresh_token}
        ),
        401,
    )
    signed = await client.post(
        "/v1/portal/sign-in",
        json={"workspace_id": str(workspace.id), "email": customer.email, "password": PASSWORD},
    )
    assert_problem(signed, 401)
    # Inviting again re-opens it.
    await invite(client, workspace, customer.contact["id"])
    token = await latest_token(connection, customer.email)
    reopened = await client.post("/v1/portal/invitations/accept", json={"token": token})
    assert reopened.status_code == 200
    listed = await client.get("/v1/portal-users", headers=workspace.headers)
    assert [row["status"] for row in listed.json()["data"]] == ["active"]


async def test_sign_in_is_rate_limited_per_account_and_per_address(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    body = {"workspace_id": str(workspace.id), "email": customer.email, "password": "wrong one!"}
    for _ in range(5):
        assert_problem(await client.post("/v1/portal/sign-in", json=body), 401)
    limited = await client.post("/v1/portal/sign-in", json={**body, "password": PASSWORD})
    assert_problem(limited, 429)
    assert limited.headers["ratelimit-policy"].startswith('"portal-sign-in-account";q=5;')
    assert int(limited.headers["Retry-After"]) >= 1
    assert "portal account" in limited.json()["detail"]

    app = client._transport.app  # type: ignore[attr-defined]
    transport = ASGITransport(app=app, client=("203.0.113.9", 40000))
    async with AsyncClient(transport=transport, base_url="http://test") as elsewhere:
        for n in range(30):
            guess = {**body, "email": f"guess{n}@example.com"}
            assert_problem(await elsewhere.post("/v1/portal/sign-in", json=guess), 401)
        blocked = await elsewhere.post("/v1/portal/sign-in", json=body)
        assert_problem(blocked, 429)
        assert "client address" in blocked.json()["detail"]


async def test_portal_tokens_and_api_keys_open_only_their_own_routes(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    for path in ("/v1/contacts", "/v1/tickets", "/v1/portal-users", "/v1/events"):
        assert_problem(await client.get(path, headers=customer.headers), 401)
    assert_problem(
        await client.get(f"/v1/contacts/{customer.contact['id']}", headers=customer.headers), 401
    )
    for path in ("/v1/portal/me", "/v1/portal/tickets", "/v1/portal/orders"):
        assert_problem(await client.get(path, headers=workspace.headers), 401)
    assert_problem(await client.get("/v1/portal/me"), 401)


def _portal_token(key: str, customer_user_id: str, workspace: Workspace, session_id: str) -> str:
    """An access token of sign-in ``session_id``, as any worker holding ``key`` would sign it."""
    now = datetime.now(UTC)
    claims = {
        "iss": "crm-api",
        "aud": "crm-portal",
        "typ": "portal",
        "sub": customer_user_id,
        "ws": str(workspace.id),
        "sid": session_id,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="HS256")


async def test_tokens_are_signed_with_the_key_kept_in_the_database(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    """Unset CRM_PORTAL_JWT_SECRET: every worker, replica and restart signs with the key the
    migrations stored, so a token from one is good on all."""
    customer = await sign_up(client, connection, workspace)
    key = await connection.scalar(
        text("SELECT value FROM service_secrets WHERE name = 'portal_jwt'")
    )
    assert isinstance(key, str)
    assert len(key) >= 64
    claims = jwt.decode(customer.access_token, key, algorithms=["HS256"], audience="crm-portal")
    assert claims["sub"] == customer.user_id

    elsewhere = _portal_token(key, customer.user_id, workspace, claims["sid"])
    me = await client.get("/v1/portal/me", headers={"Authorization": f"Bearer {elsewhere}"})
    assert me.status_code == 200, me.text
    forged = _portal_token("not the stored key " * 3, customer.user_id, workspace, claims["sid"])
    assert_problem(
        await client.get("/v1/portal/me", headers={"Authorization": f"Bearer {forged}"}), 401
    )


async def test_a_configured_secret_signs_instead_of_the_stored_key(
    client: AsyncClient,
    connection: AsyncConnection,
    workspace: Workspace,
    engine: AsyncEngine,
    settings: Settings,
) -> None:
    secret = "a configured portal signing secret, 32 bytes or more"
    configured = make_app(
        engine, settings.model_copy(update={"portal_jwt_secret": SecretStr(secret)})
    )
    bind_to_test_connection(configured, connection)
    transport = ASGITransport(app=configured, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as other:
        customer = await sign_up(other, connection, workspace)
        claims = jwt.decode(
            customer.access_token, secret, algorithms=["HS256"], audience="crm-portal"
        )
        assert claims["sub"] == customer.user_id
        assert (await other.get("/v1/portal/me", headers=customer.headers)).status_code == 200
        # The stored key no longer opens this service, nor its key the default one.
        key = await connection.scalar(
            text("SELECT value FROM service_secrets WHERE name = 'portal_jwt'")
        )
        stored = _portal_token(str(key), customer.user_id, workspace, claims["sid"])
        assert_problem(
            await other.get("/v1/portal/me", headers={"Authorization": f"Bearer {stored}"}), 401
        )
    assert_problem(await client.get("/v1/portal/me", headers=customer.headers), 401)


async def test_ending_a_sign_in_stops_its_access_tokens_at_once(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    """Sign-out, a reused refresh token and a password change end sign-ins; their access tokens
    (good for 15 minutes) stop at the next request, not when they expire."""
    customer = await sign_up(client, connection, workspace)
    me = "/v1/portal/me"
    assert (await client.get(me, headers=customer.headers)).status_code == 200
    signed_out = await client.post(
        "/v1/portal/sign-out", json={"refresh_token": customer.refresh_token}
    )
    assert signed_out.status_code == 204, signed_out.text
    assert_problem(await client.get(me, headers=customer.headers), 401)

    async def sign_in() -> dict[str, str]:
        response = await client.post(
            "/v1/portal/sign-in",
            json={"workspace_id": str(workspace.id), "email": customer.email, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, str] = response.json()
        return tokens

    # A refresh token used twice: the second use ends that sign-in, access tokens included.
    stolen = await sign_in()
    rotated = await client.post(
        "/v1/portal/tokens/refresh", json={"refresh_token": stolen["refresh_token"]}
    )
    assert rotated.status_code == 200
    fresh = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    assert (await client.get(me, headers=fresh)).status_code == 200
    reused = await client.post(
        "/v1/portal/tokens/refresh", json={"refresh_token": stolen["refresh_token"]}
    )
    assert_problem(reused, 401)
    assert_problem(await client.get(me, headers=fresh), 401)

    # A password change ends every other sign-in; the one it was made in goes on.
    here, elsewhere = await sign_in(), await sign_in()
    here_headers = {"Authorization": f"Bearer {here['access_token']}"}
    changed = await client.post(
        "/v1/portal/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=here_headers,
    )
    assert changed.status_code == 204, changed.text
    assert (await client.get(me, headers=here_headers)).status_code == 200
    elsewhere_headers = {"Authorization": f"Bearer {elsewhere['access_token']}"}
    assert_problem(await client.get(me, headers=elsewhere_headers), 401)
    assert_problem(
        await client.post(
            "/v1/portal/tokens/refresh", json={"refresh_token": elsewhere["refresh_token"]}
        ),
        401,
    )


async def test_each_portal_account_has_a_rate_limit_and_every_answer_says_where_it_stands(
    client: AsyncClient, connection: AsyncConnection, workspace: Workspace
) -> None:
    customer = await sign_up(client, connection, workspace)
    headers = {"Authorization": f"Bearer {customer.access_token}"}
    first = await client.get("/v1/portal/me", headers=headers)
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"].startswith('"portal-account";q=')
    second = await client.get(
        "/v1/portal/tickets/00000000-0000-7000-8000-000000000000", headers=headers
    )
    assert second.status_code == 404
    left = [int(h.headers["ratelimit"].split(";r=")[1].split(";")[0]) for h in (first, second)]
    assert left[1] == left[0] - 1
