"""Summing each rollup's steps into one row per key, run by the worker.

The rollup triggers only insert (migration 0032): every write adds rows of signed steps, so no
writer waits on another. Readers sum a key's rows, so the figures are the same before and
after a compaction; it only keeps the tables, and the readers' work, small.
"""

import logging

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.models.rollup import ROLLUP_TABLES, compaction

log = logging.getLogger(__name__)


async def compact_rollups(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Each rollup in a transaction of its own; one worker at a time per rollup (the others
    skip it). Returns the rows removed."""
    removed = 0
    for table in ROLLUP_TABLES:
        async with sessionmaker() as session, session.begin():
            key = func.hashtextextended(f"rollup-compaction:{table.name}", 0)
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(key))):
                continue
            before = await session.scalar(select(func.count()).select_from(table))
            await session.execute(text(compaction(table)))
            after = await session.scalar(select(func.count()).select_from(table))
            removed += int(before or 0) - int(after or 0)
    if removed:
        log.info("rollups compacted", extra={"rows_removed": removed})
    return removed
