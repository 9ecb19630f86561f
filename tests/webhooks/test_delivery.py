"""Webhook delivery against a real receiver on loopback: Standard Webhooks signatures (checked
with the reference library), retries, Retry-After, 410, order per resource, two workers, a
worker dying mid-delivery, replay, secret rotation, and nothing for a rolled-back change."""

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select, update
from standardwebhooks import Webhook, WebhookVerificationError

from crm_api.core.auth import Principal
from crm_api.core.config import Settings
from crm_api.core.events import record_event
from crm_api.models import Event, WebhookDelivery, WebhookEndpoint
from crm_api.models.base import utcnow
from crm_api.webhooks.delivery import (
    RefusedDestination,
    check_destination,
    claim,
    deliver_due,
    pinned,
)
from crm_api.webhooks.schemas import ReplayResult
from tests.factories import Workspace, make_contact
from tests.problems import assert_problem
from tests.webhooks.conftest import Deliver, Receiver, Reply


async def _endpoint(
    client: httpx.AsyncClient, workspace: Workspace, url: str, *types: str
) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": url, "event_types": list(types) or ["*"], "description": "partner"},
        headers=workspace.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def _deliveries(
    client: httpx.AsyncClient, workspace: Workspace, endpoint: dict[str, Any], query: str = ""
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries?limit=100&{query}",
        headers=workspace.headers,
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def _attempts(
    client: httpx.AsyncClient, workspace: Workspace, delivery_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/v1/webhook-deliveries/{delivery_id}/attempts", headers=workspace.headers
    )
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _later(**delta: float) -> time_machine.travel:
    return time_machine.travel(utcnow() + timedelta(**delta), tick=True)


async def test_events_are_delivered_signed_per_standard_webhooks(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("contacts"), "contact.*")
    assert endpoint["secret"].startswith("whsec_")
    fetched = await hook_client.get(
        f"/v1/webhook-endpoints/{endpoint['id']}", headers=hooked.headers
    )
    assert "secret" not in fetched.json()
    contact = await make_contact(hook_client, hooked, email="sig@example.com")
    await hook_client.post("/v1/companies", json={"name": "Not wanted"}, headers=hooked.headers)

    await deliver()
    [request] = receiver.got("contacts")
    assert request.headers["host"] == f"127.0.0.1:{receiver.port}"
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload["type"] == "contact.created"
    assert payload["data"]["id"] == contact["id"]
    assert payload["workspace_id"] == str(hooked.id)
    assert request.headers["webhook-id"] == payload["id"]
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(request.body, request.headers)

    [delivery] = await _deliveries(hook_client, hooked, endpoint)
    assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "succeeded",
        1,
        200,
    )
    [attempt] = await _attempts(hook_client, hooked, delivery["id"])
    assert attempt["status_code"] == 200
    assert attempt["response_excerpt"] == "ok"
    assert attempt["duration_ms"] >= 0


async def test_a_rolled_back_change_emits_nothing(
    hook_app: FastAPI, hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("all"), "contact.*")
    async with hook_app.state.sessionmaker() as session:
        record_event(
            session,
            Principal.system(hooked.id),
            "contact.created",
            uuid.uuid4(),
            ReplayResult(deliveries=0),
        )
        await session.flush()
        pending = select(func.count()).where(
            WebhookDelivery.endpoint_id == uuid.UUID(endpoint["id"])
        )
        assert await session.scalar(pending) == 1  # written with the event, in its transaction
        await session.rollback()
    async with hook_app.state.sessionmaker() as session:
        assert await session.scalar(pending) == 0
        events = select(func.count()).where(
            Event.workspace_id == hooked.id, Event.type == "contact.created"
        )
        assert await session.scalar(events) == 0
    # A request that fails writes nothing either.
    refused = await hook_client.post(
        "/v1/contacts",
        json={"first_name": "X", "company_id": str(uuid.uuid4())},
        headers=hooked.headers,
    )
    assert refused.status_code == 422
    assert await _deliveries(hook_client, hooked, endpoint) == []


async def test_retries_after_500_and_timeout_then_succeeds(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    receiver.reply("flaky", Reply(500), Reply(200, delay=8.0))
    endpoint = await _endpoint(hook_client, hooked, receiver.url("flaky"), "contact.created")
    await make_contact(hook_client, hooked)
    await deliver()
    [delivery] = await _deliveries(hook_client, hooked, endpoint)
    assert (delivery["status"], delivery["last_status_code"]) == ("pending", 500)
    await deliver()  # the retry waits about 5 s
    assert len(receiver.got("flaky")) == 1
    with _later(seconds=6):
        await deliver()  # times out after 5 s
    with _later(minutes=6):
        await deliver()
    [delivery] = await _deliveries(hook_client, hooked, endpoint)
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 3)
    attempts = await _attempts(hook_client, hooked, delivery["id"])
    assert [(a["status_code"], a["error"]) for a in attempts] == [
        (500, None),
        (None, "timeout"),
        (200, None),
    ]
    assert len({request.headers["webhook-id"] for request in receiver.got("flaky")}) == 1


async def test_retry_after_is_honoured_and_410_disables_the_endpoint(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    receiver.reply("busy", Reply(429, {"Retry-After": "120"}))
    receiver.reply("gone", Reply(410))
    busy = await _endpoint(hook_client, hooked, receiver.url("busy"), "contact.created")
    gone = await _endpoint(hook_client, hooked, receiver.url("gone"), "contact.created")
    await make_contact(hook_client, hooked)
    await deliver()
    with _later(seconds=60):  # past the 5 s back-off, not past Retry-After
        await deliver()
    assert len(receiver.got("busy")) == 1
    with _later(seconds=130):
        await deliver()
    assert len(receiver.got("busy")) == 2
    assert (await _deliveries(hook_client, hooked, busy))[0]["status"] == "succeeded"

    disabled = await hook_client.get(f"/v1/webhook-endpoints/{gone['id']}", headers=hooked.headers)
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"]) == (False, "gone")
    assert (await _deliveries(hook_client, hooked, gone))[0]["status"] == "failed"
    events = await hook_client.get(
        f"/v1/events?type=webhook_endpoint.disabled&resource_id={gone['id']}",
        headers=hooked.headers,
    )
    assert len(events.json()["data"]) == 1
    await make_contact(hook_client, hooked, email="later@example.com")
    assert len(await _deliveries(hook_client, hooked, gone)) == 1  # nothing new for it


async def test_five_days_of_failures_disable_the_endpoint(
    hook_app: FastAPI,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    receiver.reply("down", Reply(503))
    endpoint = await _endpoint(hook_client, hooked, receiver.url("down"), "contact.created")
    async with hook_app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == uuid.UUID(endpoint["id"]))
            .values(failing_since=utcnow() - timedelta(days=5, minutes=1))
        )
    await make_contact(hook_client, hooked)
    await deliver()
    read = await hook_client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=hooked.headers)
    assert (read.json()["enabled"], read.json()["disabled_reason"]) == (False, "failing")
    enabled = await hook_client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": True}, headers=hooked.headers
    )
    assert (enabled.json()["disabled_reason"], enabled.json()["failing_since"]) == (None, None)


async def test_events_of_one_resource_arrive_in_order(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    receiver.reply("ordered", Reply(500))
    await _endpoint(hook_client, hooked, receiver.url("ordered"), "contact.*")
    contact = await make_contact(hook_client, hooked)
    for name in ("Second", "Third"):
        patched = await hook_client.patch(
            f"/v1/contacts/{contact['id']}", json={"first_name": name}, headers=hooked.headers
        )
        assert patched.status_code == 200
    await deliver()  # the first fails: the rest wait
    await deliver()
    assert len(receiver.got("ordered")) == 1
    for seconds in (6, 7, 8):
        with _later(seconds=seconds):
            await deliver()
    bodies = [json.loads(request.body) for request in receiver.got("ordered")]
    names = [(body["type"], body["data"]["first_name"]) for body in bodies]
    assert names == [
        ("contact.created", "Grace"),
        ("contact.created", "Grace"),
        ("contact.updated", "Second"),
        ("contact.updated", "Third"),
    ]


async def test_two_workers_never_deliver_one_event_twice(
    hook_app: FastAPI,
    hook_settings: Settings,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    receiver: Receiver,
) -> None:
    for _ in range(30):
        receiver.reply("shared", Reply(200, delay=0.02))
    # A generous timeout: this test is about sharing the work, not about slow receivers.
    settings = hook_settings.model_copy(update={"webhook_timeout_seconds": 10.0})
    endpoint = await _endpoint(hook_client, hooked, receiver.url("shared"), "contact.created")
    for index in range(30):
        await make_contact(hook_client, hooked, email=f"c{index}@example.com")
    sessionmaker = hook_app.state.sessionmaker

    async def worker() -> int:
        done = 0
        async with httpx.AsyncClient() as client:
            while (batch := await deliver_due(sessionmaker, settings, client, 4)) > 0:
                done += batch
        return done

    first, second = await asyncio.gather(worker(), worker())
    assert first + second == 30
    assert first > 0
    assert second > 0
    deliveries = await _deliveries(hook_client, hooked, endpoint)
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("succeeded", 1)] * 30
    ids = [request.headers["webhook-id"] for request in receiver.got("shared")]
    assert len(ids) == len(set(ids)) == 30


async def test_a_worker_dying_mid_delivery_leaves_it_to_another(
    hook_app: FastAPI,
    hook_settings: Settings,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    receiver: Receiver,
    deliver: Deliver,
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("lease"), "contact.created")
    await make_contact(hook_client, hooked)
    sessionmaker = hook_app.state.sessionmaker
    [abandoned] = await claim(sessionmaker, hook_settings, 10)  # ... and the worker dies
    await deliver()
    assert receiver.got("lease") == []  # its lease still holds
    with _later(seconds=hook_settings.webhook_timeout_seconds + 31):
        await deliver()
    assert len(receiver.got("lease")) == 1
    [delivery] = await _deliveries(hook_client, hooked, endpoint)
    assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)
    assert abandoned.attempt == 1


async def test_replay_test_event_and_manual_retry(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    receiver.reply("replay", Reply(200), Reply(500))
    endpoint = await _endpoint(hook_client, hooked, receiver.url("replay"), "contact.created")
    since = utcnow().isoformat()
    await make_contact(hook_client, hooked)
    await make_contact(hook_client, hooked, email="two@example.com")
    await deliver()
    failed = [d for d in await _deliveries(hook_client, hooked, endpoint) if d["attempts"] == 1]
    pending = [d for d in failed if d["status"] == "pending"]
    assert len(pending) == 1
    retried = await hook_client.post(
        f"/v1/webhook-deliveries/{pending[0]['id']}/retry", headers=hooked.headers
    )
    assert retried.status_code == 202
    await deliver()
    statuses = {d["status"] for d in await _deliveries(hook_client, hooked, endpoint)}
    assert statuses == {"succeeded"}
    done = (await _deliveries(hook_client, hooked, endpoint))[0]
    again = await hook_client.post(
        f"/v1/webhook-deliveries/{done['id']}/retry", headers=hooked.headers
    )
    assert_problem(again, 409)

    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    replay = await hook_client.post(f"{url}/replay", json={"since": since}, headers=hooked.headers)
    assert (replay.status_code, replay.json()) == (202, {"deliveries": 2})
    await deliver()
    ids = [request.headers["webhook-id"] for request in receiver.got("replay")]
    assert len(ids) == 5
    assert len(set(ids)) == 2

    test = await hook_client.post(f"{url}/test", headers=hooked.headers)
    assert test.status_code == 202
    await deliver()
    last = json.loads(receiver.got("replay")[-1].body)
    assert last["type"] == "webhook_endpoint.test"


async def test_a_rotated_secret_keeps_signing_for_a_day(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver, deliver: Deliver
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("rotate"), "contact.created")
    old = endpoint["secret"]
    rotated = await hook_client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", headers=hooked.headers
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    await make_contact(hook_client, hooked)
    await deliver()
    [during] = receiver.got("rotate")
    for secret in (old, new):
        Webhook(secret).verify(during.body, during.headers)
    with _later(hours=25):
        await make_contact(hook_client, hooked, email="after@example.com")
        await deliver()
        after = receiver.got("rotate")[1]
        Webhook(new).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old).verify(after.body, after.headers)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://192.168.0.10/x",
        "ftp://203.0.113.9/x",
    ],
)
async def test_private_destinations_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(RefusedDestination):
        await check_destination(url, [])
    if url.startswith("http://127."):
        await check_destination(url, ["127.0.0.0/8"])


async def test_a_refused_destination_is_a_failed_attempt(
    hook_app: FastAPI,
    settings: Settings,
    hook_client: httpx.AsyncClient,
    hooked: Workspace,
    receiver: Receiver,
    outbound: httpx.AsyncClient,
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("private"), "contact.created")
    await make_contact(hook_client, hooked)
    await deliver_due(hook_app.state.sessionmaker, settings, outbound)  # no allowlist
    assert receiver.got("private") == []
    [delivery] = await _deliveries(hook_client, hooked, endpoint)
    assert delivery["last_error"].startswith("refused: ")


async def test_endpoints_are_validated(hook_client: httpx.AsyncClient, hooked: Workspace) -> None:
    for body, field in (
        ({"url": "not a url"}, "url"),
        ({"url": "https://x.example", "event_types": ["deal"]}, "event_types"),
        ({"url": "https://x.example", "event_types": []}, "event_types"),
    ):
        response = await hook_client.post(
            "/v1/webhook-endpoints", json=body, headers=hooked.headers
        )
        assert_problem(response, 422, field=field)
    replay = await hook_client.post(
        f"/v1/webhook-endpoints/{uuid.uuid4()}/replay",
        json={"since": 1767225600},  # a number of seconds, not ISO 8601
        headers=hooked.headers,
    )
    assert_problem(replay, 422, field="since")


def test_requests_are_pinned_to_the_checked_address() -> None:
    target, headers, extensions = pinned("https://hooks.example:8443/in?x=1", "203.0.113.7")
    assert target == "https://203.0.113.7:8443/in?x=1"
    assert headers == {"host": "hooks.example:8443"}
    assert extensions == {"sni_hostname": "hooks.example"}  # TLS still checks the name
    target, headers, extensions = pinned("http://hooks.example/in", "2001:db8::1")
    assert (target, headers, extensions) == (
        "http://[2001:db8::1]/in",
        {"host": "hooks.example"},
        {},
    )


async def test_a_name_is_checked_and_pinned_once() -> None:
    address = await check_destination("http://localhost:1/x", ["127.0.0.0/8", "::1/128"])
    assert address in {"127.0.0.1", "::1"}
    with pytest.raises(RefusedDestination):
        await check_destination("http://localhost:1/x", [])


async def test_a_disabled_endpoint_is_not_replayed(
    hook_client: httpx.AsyncClient, hooked: Workspace, receiver: Receiver
) -> None:
    endpoint = await _endpoint(hook_client, hooked, receiver.url("off"))
    url = f"/v1/webhook-endpoints/{endpoint['id']}"
    disabled = await hook_client.patch(url, json={"enabled": False}, headers=hooked.headers)
    assert disabled.json()["disabled_reason"] == "manual"
    replay = await hook_client.post(
        f"{url}/replay", json={"since": "2026-01-01T00:00:00Z"}, headers=hooked.headers
    )
    assert_problem(replay, 409)
