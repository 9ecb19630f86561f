"""The background worker: import jobs, webhook deliveries, the email outbox, SLA breaches that
time alone causes, RFM scores of workspaces whose orders changed, lead scores as interactions age,
the KPI rollups' compaction, and retention (events past `CRM_EVENT_RETENTION_DAYS`, expired
Idempotency-Key records).

`crm-api worker` runs it on its own; `crm-api serve` runs one in-process unless
`CRM_RUN_WORKER=false`. Any number may run side by side: every job claims its rows with
`FOR UPDATE SKIP LOCKED`.
"""

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

import httpx
from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.core.config import Settings
from crm_api.emails.outbox import send_due
from crm_api.imports.jobs import run_imports
from crm_api.kpis.compaction import compact_rollups
from crm_api.lead_scoring.service import rescore_all
from crm_api.models import Event, IdempotencyKey
from crm_api.models.base import utcnow
from crm_api.rfm.service import recompute_stale
from crm_api.tickets.service import sweep_sla_breaches
from crm_api.webhooks.delivery import deliver_due

log = logging.getLogger(__name__)
DELIVERY_BATCH = 50
PURGE_BATCH = 5000
MAINTENANCE_SECONDS = 3600.0


async def purge_expired(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """Delete events past retention and Idempotency-Key records past their TTL, in batches."""
    now = utcnow()
    removed = 0
    for key, column, cutoff in (
        (
            (Event.workspace_id, Event.id),
            Event.occurred_at,
            now - timedelta(days=settings.event_retention_days),
        ),
        (
            (IdempotencyKey.workspace_id, IdempotencyKey.key),
            IdempotencyKey.created_at,
            now - timedelta(hours=settings.idempotency_ttl_hours),
        ),
    ):
        while True:
            batch = (
                select(*key)
                .where(column < cutoff)
                .limit(PURGE_BATCH)
                .with_for_update(skip_locked=True)
            )
            async with sessionmaker() as session, session.begin():
                result = await session.execute(delete(column.class_).where(tuple_(*key).in_(batch)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            removed += count
            if count < PURGE_BATCH:
                break
    return removed


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, client: httpx.AsyncClient
) -> int:
    """Deliver what is due (until nothing is), then record SLA breaches."""
    delivered = 0
    while (batch := await deliver_due(sessionmaker, settings, client, DELIVERY_BATCH)) > 0:
        delivered += batch
    while await send_due(sessionmaker, settings):
        pass
    while await sweep_sla_breaches(sessionmaker) > 0:
        pass
    await recompute_stale(sessionmaker)
    return delivered


async def run_worker(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Until cancelled. A failing round (the database away, say) is logged and retried.

    Imports run in a task of their own, so a long one holds up no webhook delivery.
    """
    imports = asyncio.create_task(run_imports(sessionmaker, settings))
    try:
        await _run_rounds(sessionmaker, settings)
    finally:
        imports.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await imports


async def _run_rounds(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    last_sla = last_maintenance = 0.0
    async with httpx.AsyncClient() as client:
        while True:
            try:
                while await deliver_due(sessionmaker, settings, client, DELIVERY_BATCH):
                    pass
                while await send_due(sessionmaker, settings):
                    pass
                if time.monotonic() - last_sla >= settings.sla_sweep_seconds:
                    while await sweep_sla_breaches(sessionmaker) > 0:
                        pass
                    await recompute_stale(sessionmaker)
                    await compact_rollups(sessionmaker)
                    last_sla = time.monotonic()
                if time.monotonic() - last_maintenance >= MAINTENANCE_SECONDS:
                    await purge_expired(sessionmaker, settings)
                    await rescore_all(sessionmaker)
                    last_maintenance = time.monotonic()
            except Exception:
                log.exception("worker round failed; trying again")
            await asyncio.sleep(settings.worker_poll_seconds)
