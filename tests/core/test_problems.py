"""Every error status the API conventions name comes back as application/problem+json."""

import logging
import re
import uuid

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import URL, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_api.core.config import Settings
from crm_api.core.db import create_engine
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.models import Contact, Event
from tests.conftest import make_app
from tests.factories import (
    Workspace,
    bearer,
    make_api_key,
    make_contact,
    make_custom_field,
    make_product,
    new_workspace,
)
from tests.problems import assert_problem


async def test_malformed_json_is_400(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b'{"first_name": ',
        headers={**workspace.headers, "content-type": "application/json"},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer nonsense", "Bearer crm_" + "0" * 64 + "secret"],
)
async def test_missing_or_bad_credentials_are_401(
    client: AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await client.get("/v1/contacts", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_wrong_secret_for_a_real_key_is_401(
    client: AsyncClient, workspace: Workspace
) -> None:
    tampered = workspace.admin_key[:-4] + (
        "AAAA" if not workspace.admin_key.endswith("AAAA") else "BBBB"
    )
    assert_problem(await client.get("/v1/contacts", headers=bearer(tampered)), 401)


async def test_missing_scope_is_403_naming_it(client: AsyncClient, workspace: Workspace) -> None:
    reader = await make_api_key(client, workspace, "contacts:read")
    assert (await client.get("/v1/contacts", headers=bearer(reader))).status_code == 200
    response = await client.post("/v1/contacts", json={"first_name": "A"}, headers=bearer(reader))
    problem = assert_problem(response, 403)
    assert problem["missing_scope"] == "contacts:write"
    assert "contacts:write" in problem["detail"]


async def test_unknown_route_and_absent_record_are_404(
    client: AsyncClient, workspace: Workspace
) -> None:
    assert_problem(await client.get("/v1/nowhere", headers=workspace.headers), 404)
    absent = "01a20000-0000-7000-8000-000000000000"
    assert_problem(await client.get(f"/v1/contacts/{absent}", headers=workspace.headers), 404)


async def test_a_malformed_id_is_404(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.get("/v1/contacts/not-a-uuid", headers=workspace.headers)
    assert_problem(response, 404)


async def test_wrong_method_is_405_with_allow(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.put("/v1/contacts", json={}, headers=workspace.headers)
    assert_problem(response, 405)
    assert response.headers["allow"] == "GET, POST"
    by_id = await client.put(
        "/v1/contacts/01a20000-0000-7000-8000-000000000000", json={}, headers=workspace.headers
    )
    assert by_id.headers["allow"] == "DELETE, GET, PATCH"
    pipelines = (await client.get("/v1/pipelines", headers=workspace.headers)).json()["data"]
    reorder = await client.put(
        f"/v1/pipelines/{pipelines[0]['id']}/stages/reorder", json={}, headers=workspace.headers
    )
    assert reorder.headers["allow"] == "POST"


async def test_duplicate_email_is_409_naming_the_existing_contact(
    client: AsyncClient, workspace: Workspace
) -> None:
    first = await make_contact(client, workspace, email="Dup@Example.com")
    response = await client.post(
        "/v1/contacts", json={"email": "dup@example.COM"}, headers=workspace.headers
    )
    problem = assert_problem(response, 409, field="email")
    assert problem["existing_id"] == first["id"]


async def test_stale_if_match_is_412(client: AsyncClient, workspace: Workspace) -> None:
    contact = await make_contact(client, workspace)
    url = f"/v1/contacts/{contact['id']}"
    fresh = await client.patch(
        url, json={"job_title": "CTO"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert fresh.status_code == 200
    assert fresh.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"job_title": "CEO"}, headers={**workspace.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412)
    assert (await client.get(url, headers=workspace.headers)).json()["job_title"] == "CTO"


async def test_body_over_the_limit_is_413(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts", json={"first_name": "x" * 2_000_000}, headers=workspace.headers
    )
    assert_problem(response, 413)


async def test_streamed_body_over_the_limit_is_413(
    client: AsyncClient, workspace: Workspace
) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65_536

    response = await client.post(
        "/v1/contacts",
        content=chunks(),
        headers={**workspace.headers, "content-type": "application/json"},
    )
    assert_problem(response, 413)


async def test_wrong_content_type_is_415(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts",
        content=b"first_name=Ada",
        headers={**workspace.headers, "content-type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)


async def test_invalid_field_is_422_naming_it(client: AsyncClient, workspace: Workspace) -> None:
    response = await client.post(
        "/v1/contacts",
        json={"first_name": "Ada", "lifecycle_stage": "royalty"},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="lifecycle_stage")


async def test_server_owned_fields_are_refused(client: AsyncClient, workspace: Workspace) -> None:
    contact = await make_contact(client, workspace)
    for field, value in (
        ("id", contact["id"]),
        ("version", 9),
        ("created_at", "2020-01-01T00:00:00Z"),
    ):
        response = await client.patch(
            f"/v1/contacts/{contact['id']}", json={field: value}, headers=workspace.headers
        )
        assert_problem(response, 422, field=field)


async def test_a_rejected_write_leaves_nothing_behind(
    client: AsyncClient, workspace: Workspace, connection: AsyncConnection
) -> None:
    await make_custom_field(client, workspace, key="score", field_type="number")
    response = await client.post(
        "/v1/contacts",
        json={"email": "half@example.com", "custom_fields": {"score": "high"}},
        headers=workspace.headers,
    )
    assert_problem(response, 422, field="score")
    contacts = await connection.scalar(
        select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace.id)
    )
    events = await connection.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.workspace_id == workspace.id, Event.type == "contact.created")
    )
    assert (contacts, events) == (0, 0)


async def test_if_match_can_be_required_428(engine: AsyncEngine, settings: Settings) -> None:
    app = make_app(engine, settings.model_copy(update={"require_if_match": True}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        workspace = await new_workspace(app, "Strict")
        contact = await make_contact(client, workspace)
        url = f"/v1/contacts/{contact['id']}"
        response = await client.patch(url, json={"job_title": "x"}, headers=workspace.headers)
        assert_problem(response, 428)
        ok = await client.patch(
            url, json={"job_title": "x"}, headers={**workspace.headers, "If-Match": '"1"'}
        )
        assert ok.status_code == 200


async def test_too_many_requests_is_429_with_retry_after(
    engine: AsyncEngine, settings: Settings
) -> None:
    app = make_app(engine, settings.model_copy(update={"rate_limit": "3/minute"}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        workspace = await new_workspace(app, "Busy")
        first = await client.get("/v1/contacts", headers=workspace.headers)
        # Every answer says where the key stands (draft-ietf-httpapi-ratelimit-headers).
        assert first.headers["ratelimit-policy"] == '"api-key";q=3;w=60'
        assert re.fullmatch(r'"api-key";r=2;t=\d+', first.headers["ratelimit"])
        contact_id = "00000000-0000-7000-8000-000000000000"
        missing = await client.get(f"/v1/contacts/{contact_id}", headers=workspace.headers)
        assert_problem(missing, 404)
        assert re.fullmatch(r'"api-key";r=1;t=\d+', missing.headers["ratelimit"])
        bad = await client.post("/v1/contacts", json={"email": "x"}, headers=workspace.headers)
        assert_problem(bad, 422)
        assert re.fullmatch(r'"api-key";r=0;t=\d+', bad.headers["ratelimit"])
        response = await client.get("/v1/contacts", headers=workspace.headers)
        assert_problem(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["ratelimit"] == f'"api-key";r=0;t={response.headers["retry-after"]}'
        other = await new_workspace(app, "Quiet")
        assert (await client.get("/v1/contacts", headers=other.headers)).status_code == 200


async def test_a_redis_store_shares_the_count_between_workers(
    engine: AsyncEngine, settings: Settings
) -> None:
    """CRM_RATE_LIMIT_STORAGE=redis://...: two processes (two apps here) count together."""
    shared = settings.model_copy(
        update={"rate_limit": "3/minute", "rate_limit_storage": "redis://127.0.0.1:6379/0"}
    )
    first, second = make_app(engine, shared), make_app(engine, shared)
    async with (
        AsyncClient(transport=ASGITransport(app=first), base_url="http://t") as one,
        AsyncClient(transport=ASGITransport(app=second), base_url="http://t") as two,
    ):
        workspace = await new_workspace(first, "Shared")
        for client in (one, two, one):
            assert (await client.get("/v1/contacts", headers=workspace.headers)).status_code == 200
        for client in (two, one):
            response = await client.get("/v1/contacts", headers=workspace.headers)
            assert_problem(response, 429)
            assert int(response.headers["retry-after"]) >= 1


async def test_request_id_is_echoed_or_made(client: AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) >= 16
    missing = await client.get("/v1/nowhere", headers={"X-Request-ID": "trace-43"})
    assert missing.headers["x-request-id"] == "trace-43"


async def test_health_readiness_and_metrics(client: AsyncClient, app: FastAPI) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'crm_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics.text


async def test_an_unexpected_error_is_a_500_problem_that_leaks_nothing(
    engine: AsyncEngine, settings: Settings
) -> None:
    app = make_app(engine, settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "trace-500"})
    problem = assert_problem(response, 500)
    assert "secret internals" not in response.text
    assert problem["type"].endswith("internal-error")
    assert response.headers["x-request-id"] == "trace-500"


@pytest.mark.parametrize(
    ("condition", "sqlstate"),
    [("deadlock_detected", "40P01"), ("serialization_failure", "40001")],
)
async def test_a_request_that_loses_a_race_is_a_503_to_retry_and_leaks_no_values(
    engine: AsyncEngine,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    condition: str,
    sqlstate: str,
) -> None:
    """What PostgreSQL answers to a deadlock or a serialization failure, raised where an
    operation's own statement would be, with personal data among the statement's parameters."""
    app = make_app(engine, settings)
    router = crm_router("/race", "Tests")

    @router.post("")
    async def race(session: SessionDep) -> None:
        await session.execute(
            text(
                "CREATE FUNCTION pg_temp.lose(email text) RETURNS void LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = '{condition}'; END $$"
            )
        )
        await session.execute(
            text("SELECT pg_temp.lose(:email)"), {"email": "ada.private@example.com"}
        )

    app.include_router(router)
    caplog.set_level(logging.DEBUG)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        workspace = await new_workspace(app, "Races")
        response = await client.post("/race", json={}, headers=workspace.headers)
    problem = assert_problem(response, 503)
    assert "Retry" in problem["detail"]
    assert response.headers["retry-after"] == "1"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert sqlstate in logged
    assert "ada.private@example.com" not in logged


async def test_readiness_holds_while_every_pool_connection_is_busy(
    database_url: URL, settings: Settings
) -> None:
    """A busy process is ready: /readyz does not wait for the request pool."""
    busy = create_engine(database_url, settings.model_copy(update={"db_pool_size": 1}))
    app = make_app(busy, settings)
    try:
        async with busy.connect() as held:  # the pool's only connection, in use
            await held.execute(text("SELECT 1"))
            transport = ASGITransport(app=app)
            async with AsyncClient(transport=transport, base_url="http://t") as client:
                ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
    finally:
        await busy.dispose()


async def test_errors_say_what_the_api_expects_not_what_the_library_saw(
    client: AsyncClient, workspace: Workspace
) -> None:
    """Shapes named with an example, real field names, our words for missing and unknown
    fields, and a malformed id called malformed rather than an unknown route."""
    cases = [
        ("/v1/contacts", {"first_name": "A", "phones": ["+1 555 0100"]}, ["body", "phones", 0]),
        ("/v1/deals", {"name": "x", "amount": 5000}, ["body", "amount"]),
        ("/v1/deals", {"name": "x", "contacts": [str(uuid.uuid4())]}, ["body", "contacts", 0]),
    ]
    for path, body, loc in cases:
        response = await client.post(path, json=body, headers=workspace.headers)
        assert_problem(response, 422)
        (error,) = response.json()["errors"]
        assert error["loc"] == loc
        assert error["msg"].startswith("must be an object like {"), error
    phones = await client.post("/v1/contacts", json={"phones": ["+1"]}, headers=workspace.headers)
    assert '"number": ' in phones.json()["errors"][0]["msg"]
    nameless = await client.post("/v1/contacts", json={"job_title": "x"}, headers=workspace.headers)
    assert nameless.json()["errors"][0]["msg"] == (
        "a contact needs an email, a first_name or a last_name"
    )
    missing = await client.post("/v1/deals", json={}, headers=workspace.headers)
    assert missing.json()["errors"][0] == {
        "loc": ["body", "name"],
        "msg": "is required",
        "type": "missing",
    }
    extra = await client.post(
        "/v1/deals", json={"name": "x", "nmae": "y"}, headers=workspace.headers
    )
    assert extra.json()["errors"][0]["msg"] == "is not a field of this body"
    for response in (phones, nameless, missing, extra):
        assert "Value error" not in response.text
        assert "Input should be" not in response.text
    malformed = await client.get("/v1/contacts/123", headers=workspace.headers)
    assert_problem(malformed, 404)
    assert malformed.json()["detail"].startswith("'123' is not an id: contact_id is a UUID")
    assert malformed.json()["errors"][0]["loc"] == ["path", "contact_id"]
    deeper = await client.get("/v1/companies/acme/timeline", headers=workspace.headers)
    assert deeper.json()["errors"][0]["loc"] == ["path", "company_id"]
    nowhere = await client.get("/v1/nothing-here", headers=workspace.headers)
    assert nowhere.json()["detail"] == "No route matches GET /v1/nothing-here."


async def test_money_has_its_currencys_decimal_places_on_every_response(
    client: AsyncClient, workspace: Workspace
) -> None:
    """The 201 and the GET write an amount the same way, with the currency's decimal places
    (ISO 4217 via CLDR: EUR 2, JPY 0), and an amount finer than its currency is refused."""
    for sent, currency, served in (("5000", "EUR", "5000.00"), ("5000.00", "JPY", "5000")):
        made = await client.post(
            "/v1/deals",
            json={"name": "x", "amount": {"amount": sent, "currency": currency}},
            headers=workspace.headers,
        )
        assert made.json()["amount"] == {"amount": served, "currency": currency}
        read = await client.get(f"/v1/deals/{made.json()['id']}", headers=workspace.headers)
        assert read.json()["amount"] == made.json()["amount"]
    finer = await client.post(
        "/v1/deals",
        json={"name": "z", "amount": {"amount": "12.5", "currency": "JPY"}},
        headers=workspace.headers,
    )
    assert_problem(finer, 422)
    assert finer.json()["errors"][0]["loc"] == ["body", "amount"]
    assert "JPY amounts have no decimal places" in finer.json()["errors"][0]["msg"]


async def test_empty_text_is_null_on_every_response(
    client: AsyncClient, workspace: Workspace
) -> None:
    """No field is "" in one place and null in another: empty text is served as null."""
    made = await client.post(
        "/v1/contacts",
        json={"email": "nameless@example.com", "job_title": "", "lead_source": "  "},
        headers=workspace.headers,
    )
    assert made.status_code == 201, made.text
    read = await client.get(f"/v1/contacts/{made.json()['id']}", headers=workspace.headers)
    for response in (made, read):
        body = response.json()
        assert (body["first_name"], body["last_name"]) == (None, None)
        assert (body["job_title"], body["lead_source"]) == (None, None)


async def test_an_order_line_finer_than_its_currency_is_a_422_not_a_500(
    client: AsyncClient, workspace: Workspace
) -> None:
    product = await make_product(client, workspace, price={"amount": "1000", "currency": "JPY"})
    contact = await make_contact(client, workspace)
    order = await client.post(
        "/v1/orders",
        json={
            "contact_id": contact["id"],
            "lines": [{"product_id": product["id"], "quantity": 1, "unit_price": "12.5"}],
        },
        headers=workspace.headers,
    )
    assert_problem(order, 422)
    assert order.json()["errors"][0]["loc"] == ["body", "lines", 0, "unit_price"]


async def test_error_locations_name_only_what_the_client_wrote(
    client: AsyncClient, workspace: Workspace
) -> None:
    contact = await make_contact(client, workspace)
    response = await client.patch(
        f"/v1/contacts/{contact['id']}",
        json={"tags": ["vip", " "]},
        headers={**workspace.headers, "If-Match": '"1"'},
    )
    assert_problem(response, 422)
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "tags", 1]
    assert "Input should be None" not in response.text
