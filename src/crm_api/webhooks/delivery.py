"""Webhook delivery: claim due deliveries, send them signed, record what happened.

Retry schedule (after the first attempt fails), each delay with +/-10% jitter:
5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h, 24 h -- 11 attempts over about 3.6 days.
A 429 or 503 with `Retry-After` waits at least that long. A 410 disables the endpoint at once;
an endpoint whose attempts have all failed for 5 days is disabled too. Either way
`webhook_endpoint.disabled` is emitted.

Workers claim deliveries with `FOR UPDATE SKIP LOCKED` and hold a lease (`locked_until`) longer
than the request timeout, so two workers never attempt one delivery at the same time, and a
worker that dies mid-delivery leaves a lease that runs out and lets another try again. Per
endpoint and resource only the earliest pending event is claimable, so events for one resource
arrive in the order they happened.
"""

import asyncio
import ipaddress
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from crm_api.core.auth import Principal
from crm_api.core.config import Settings
from crm_api.core.events import record_event
from crm_api.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from crm_api.models.base import utcnow

RETRY_DELAYS = tuple(
    timedelta(seconds=seconds)
    for seconds in (5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400)
)
FAILING_LIMIT = timedelta(days=5)
MAX_RETRY_AFTER = timedelta(days=1)
EXCERPT_CHARS = 1000
USER_AGENT = "crm-api-webhooks/1"

_CLAIM = text(
    """
    WITH due AS (
        SELECT d.workspace_id, d.id
        FROM webhook_deliveries d
        JOIN webhook_endpoints e ON e.workspace_id = d.workspace_id AND e.id = d.endpoint_id
        WHERE d.status = 'pending'
          AND d.next_attempt_at <= :now
          AND (d.locked_until IS NULL OR d.locked_until < :now)
          AND e.enabled
          AND NOT EXISTS (
              SELECT 1 FROM webhook_deliveries earlier
              WHERE earlier.workspace_id = d.workspace_id
                AND earlier.endpoint_id = d.endpoint_id
                AND earlier.resource_id = d.resource_id
                AND earlier.status = 'pending'
                AND earlier.event_id < d.event_id
          )
        ORDER BY d.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries d
    SET locked_until = :lease, attempts = d.attempts + 1
    FROM due
    WHERE d.workspace_id = due.workspace_id AND d.id = due.id
    RETURNING d.workspace_id, d.id, d.attempts
    """
)


@dataclass(frozen=True, slots=True)
class Claim:
    workspace_id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int


@dataclass(frozen=True, slots=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    excerpt: str | None = None
    error: str | None = None
    retry_after: timedelta | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def event_payload(event: Event) -> dict[str, Any]:
    """What a partner receives: the event as `GET /v1/events/{id}` shows it, and its workspace."""
    return {
        "id": str(event.id),
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "workspace_id": str(event.workspace_id),
        "resource_type": event.resource_type,
        "resource_id": str(event.resource_id),
        "data": event.data,
        "previous": event.previous,
    }


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def signed_headers(
    secrets: list[str], message_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation the signature carries one per secret."""
    signatures = [Webhook(secret).sign(message_id, timestamp, body) for secret in secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class RefusedDestination(Exception):
    pass


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Ranges of IANA's special-purpose registries that are not globally reachable, and that this
# Python's `ipaddress` does not (yet) count as such.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network)
    for network in ("64:ff9b:1::/48", "3fff::/20", "5f00::/16", "192.88.99.0/24")
)
# IPv6 addresses whose last 32 bits are an IPv4 address that the traffic ends up at: NAT64
# (RFC 6052, RFC 8215) and the deprecated IPv4-compatible form (::a.b.c.d).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64, compatible)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [
        embedded
        for embedded in (address.ipv4_mapped, address.sixtofour, *(address.teredo or ()))
        if embedded is not None
    ]
    translated = any(address in network for network in _NAT64)
    compatible = address in _COMPATIBLE and int(address) > 1  # :: and ::1 are refused as such
    if translated or compatible:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def _public(address: IPAddress) -> bool:
    return (
        address.is_global
        and not address.is_multicast
        and not any(address in network for network in _NOT_GLOBAL)
    )


def _reachable(address: IPAddress, allowed: list[IPNetwork]) -> bool:
    """Whether a webhook may go to ``address``: it, and every IPv4 address it embeds, is public
    or inside an allowed network."""
    return all(
        any(candidate in network for network in allowed) or _public(candidate)
        for candidate in (address, *embedded_ipv4(address))
    )


async def check_destination(url: str, allowed: list[str]) -> str:
    """Refuse private, loopback, link-local and other non-public addresses (as resolved now)
    unless they fall in an allowed network. Returns the address checked, which the request
    then connects to, so a second lookup cannot answer differently (DNS rebinding)."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in {"http", "https"} or not host:
        raise RefusedDestination("not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedDestination(f"cannot resolve {host}: {exc}") from exc
    networks = [ipaddress.ip_network(network, strict=False) for network in allowed]
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not _reachable(address, networks):
            raise RefusedDestination(f"{host} resolves to a non-public address ({address})")
    if not infos:
        raise RefusedDestination(f"{host} has no address")
    return str(infos[0][4][0])


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL aimed at ``address``, the Host header it needs, and for https the name the TLS
    handshake and the certificate check use."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    target = parts._replace(netloc=netloc).geturl()
    original = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {"host": original}, extensions


def _retry_after(response: httpx.Response, now: datetime) -> timedelta | None:
    value = response.headers.get("retry-after")
    if response.status_code not in {429, 503} or not value:
        return None
    try:
        return timedelta(seconds=max(0, int(value)))
    except ValueError:
        pass
    try:
        return max(timedelta(), parsedate_to_datetime(value) - now)
    except (TypeError, ValueError):
        return None


async def send(
    client: httpx.AsyncClient,
    settings: Settings,
    endpoint: WebhookEndpoint,
    event: Event,
) -> Outcome:
    started_at = utcnow()
    clock = time.perf_counter()

    def elapsed_ms() -> int:
        return int((time.perf_counter() - clock) * 1000)

    try:
        address = await check_destination(endpoint.url, settings.webhook_allowed_networks)
    except RefusedDestination as exc:
        return Outcome(started_at, elapsed_ms(), error=f"refused: {exc}")
    body = orjson.dumps(event_payload(event)).decode()
    headers = signed_headers(signing_secrets(endpoint, started_at), str(event.id), started_at, body)
    target, host_header, extensions = pinned(endpoint.url, address)
    try:
        response = await client.post(
            target,
            content=body,
            headers={**headers, **host_header},
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
            extensions=extensions,
        )
    except httpx.TimeoutException:
        return Outcome(started_at, elapsed_ms(), error="timeout")
    except httpx.HTTPError as exc:
        return Outcome(started_at, elapsed_ms(), error=f"{type(exc).__name__}: {exc}"[:500])
    return Outcome(
        started_at,
        elapsed_ms(),
        status_code=response.status_code,
        excerpt=response.text[:EXCERPT_CHARS],
        retry_after=_retry_after(response, started_at),
    )


def next_attempt(attempt: int, outcome: Outcome, now: datetime) -> datetime | None:
    """When to try again after attempt number ``attempt`` failed; None when retries are over."""
    if attempt > len(RETRY_DELAYS):
        return None
    delay = RETRY_DELAYS[attempt - 1] * random.uniform(0.9, 1.1)  # noqa: S311 - jitter
    if outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, MAX_RETRY_AFTER))
    return now + delay


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, limit: int
) -> list[Claim]:
    now = utcnow()
    lease = now + timedelta(seconds=settings.webhook_timeout_seconds + 30)
    async with sessionmaker() as session, session.begin():
        rows = await session.execute(_CLAIM, {"now": now, "lease": lease, "limit": limit})
        return [
            Claim(workspace_id, delivery_id, attempt) for workspace_id, delivery_id, attempt in rows
        ]


def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: str, now: datetime) -> None:
    from crm_api.webhooks.schemas import WebhookEndpointRead

    endpoint.enabled, endpoint.disabled_reason = False, reason
    endpoint.version += 1
    endpoint.updated_at = now
    record_event(
        session,
        Principal.system(endpoint.workspace_id),
        "webhook_endpoint.disabled",
        endpoint.id,
        WebhookEndpointRead.model_validate(endpoint),
    )


async def record(
    sessionmaker: async_sessionmaker[AsyncSession], claimed: Claim, outcome: Outcome
) -> None:
    """Keep the attempt and its consequences, if the lease is still ours."""
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        delivery = await session.get(
            WebhookDelivery, (claimed.workspace_id, claimed.delivery_id), with_for_update=True
        )
        if delivery is None or delivery.attempts != claimed.attempt or delivery.status != "pending":
            return  # the lease ran out and another worker took over; its result counts
        endpoint = await session.get(
            WebhookEndpoint, (delivery.workspace_id, delivery.endpoint_id), with_for_update=True
        )
        assert endpoint is not None  # deliveries go with their endpoint
        session.add(
            WebhookAttempt(
                workspace_id=delivery.workspace_id,
                delivery_id=delivery.id,
                attempt=claimed.attempt,
                started_at=outcome.started_at,
                duration_ms=outcome.duration_ms,
                status_code=outcome.status_code,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
            )
        )
        delivery.locked_until = None
        delivery.last_attempt_at = outcome.started_at
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        if outcome.succeeded:
            delivery.status, delivery.completed_at = "succeeded", now
            endpoint.failing_since = None
            return
        retry_at = next_attempt(claimed.attempt, outcome, now)
        if outcome.status_code == 410 or retry_at is None:
            delivery.status, delivery.completed_at = "failed", now
        else:
            delivery.next_attempt_at = retry_at
        endpoint.failing_since = endpoint.failing_since or outcome.started_at
        if endpoint.enabled and outcome.status_code == 410:
            _disable(session, endpoint, "gone", now)
        elif endpoint.enabled and now - endpoint.failing_since >= FAILING_LIMIT:
            _disable(session, endpoint, "failing", now)


async def attempt(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    client: httpx.AsyncClient,
    claimed: Claim,
) -> None:
    async with sessionmaker() as session:
        delivery = await session.get(WebhookDelivery, (claimed.workspace_id, claimed.delivery_id))
        if delivery is None:
            return
        endpoint = await session.get(WebhookEndpoint, (delivery.workspace_id, delivery.endpoint_id))
        event = await session.get(Event, (delivery.workspace_id, delivery.event_id))
    if endpoint is None or event is None:
        return
    outcome = await send(client, settings, endpoint, event)
    await record(sessionmaker, claimed, outcome)


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    client: httpx.AsyncClient,
    limit: int = 50,
) -> int:
    """Claim up to ``limit`` due deliveries and attempt them concurrently; how many were."""
    claims = await claim(sessionmaker, settings, limit)
    await asyncio.gather(*(attempt(sessionmaker, settings, client, each) for each in claims))
    return len(claims)
