"""The SLA breach sweep, run in the service's process every few seconds.

A breach can happen with nobody touching the ticket; the sweep records it (event, escalation)
soon after. Several processes may sweep at once: each ticket is locked while it is evaluated.
"""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .service import sweep_sla_breaches

log = logging.getLogger(__name__)
BATCH = 100


async def run_sla_sweeps(sessionmaker: async_sessionmaker[AsyncSession], every: float) -> None:
    while True:
        try:
            while await sweep_sla_breaches(sessionmaker, BATCH) == BATCH:
                pass
        except Exception:  # a database outage must not end the loop; the next round retries
            log.exception("SLA breach sweep failed")
        await asyncio.sleep(every)
