"""Running import jobs: claimed by a worker with a lease, loaded chunk by chunk.

Each chunk's transaction locks the job row and checks that its progress is still what this
worker last wrote, so two workers can never load the same rows: one that stalled past its lease
and comes back finds the job moved on and stops.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
from sqlalchemy import delete, or_, select, text
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_api.core.auth import Principal
from crm_api.core.config import Settings
from crm_api.core.events import record_event
from crm_api.custom_fields import service as custom_fields
from crm_api.models import CustomFieldDefinition, ImportFile, ImportJob
from crm_api.models.base import utcnow

from . import sources
from .merge import load_chunk, staged_record
from .prepare import Counts, prepare
from .resource import Resource
from .resources import RESOURCES
from .schemas import ImportJobRead

log = logging.getLogger(__name__)
Progress = Callable[[ImportJob], None]


class LostJob(Exception):
    """Another worker has taken the job over."""


def principal_of(job: ImportJob) -> Principal:
    """Whoever uploaded the file: the records' events and audit entries name them."""
    return Principal(
        workspace_id=job.workspace_id,
        actor_id=job.actor_id,
        scopes=frozenset(),
        actor_type=job.actor_type,
    )


async def claim_next(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
) -> ImportJob | None:
    """The oldest unfinished job nobody holds, now held by us."""
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        job = await session.scalar(
            select(ImportJob)
            .where(
                ImportJob.status.in_(("queued", "running")),
                or_(ImportJob.lease_expires_at.is_(None), ImportJob.lease_expires_at < now),
            )
            .order_by(ImportJob.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        take(job, settings)
    return job


def take(job: ImportJob, settings: Settings) -> None:
    """Mark the job running and held by the caller for a lease."""
    now = utcnow()
    job.status = "running"
    job.started_at = job.started_at or now
    job.lease_expires_at = now + _lease(settings)
    job.updated_at = now


def _lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.import_lease_seconds)


async def _uploaded(
    sessionmaker: async_sessionmaker[AsyncSession], job: ImportJob, resource: Resource
) -> tuple[bytes | None, dict[str, CustomFieldDefinition]]:
    """The job's file (None once it is gone) and the custom fields its rows may set."""
    async with sessionmaker() as session:
        content = await session.scalar(
            select(ImportFile.content).where(
                ImportFile.workspace_id == job.workspace_id, ImportFile.job_id == job.id
            )
        )
        definitions = await custom_fields.definitions_by_key(
            session, job.workspace_id, resource.entity
        )
    return content, definitions


async def run_job(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    job: ImportJob,
    progress: Progress | None = None,
) -> ImportJob:
    """Load what is left of a claimed job; return it as it ended."""
    resource = RESOURCES[job.resource]
    content, definitions = await _uploaded(sessionmaker, job, resource)
    if content is None:
        return await _finish(sessionmaker, job, "failed", "The uploaded file is gone.")
    chunks = _Chunks(
        resource,
        job,
        definitions,
        sources.rows(job.format, sources.decode(content), resource.fields, job.mapping),  # type: ignore[arg-type]
        settings.import_chunk_rows,
    )
    # The next chunk is validated in a thread while the database loads this one.
    upcoming = asyncio.create_task(asyncio.to_thread(chunks.next))
    try:
        while (ready := await upcoming) is not None:
            chunk, counts, last = ready
            upcoming = asyncio.create_task(asyncio.to_thread(chunks.next))
            await _commit_chunk(sessionmaker, settings, job, chunk, counts, last)
            if progress is not None:
                progress(job)
    except LostJob:
        log.info("import %s was taken over by another worker", job.id)
        return job
    except (
        OSError,
        asyncpg.PostgresConnectionError,
        asyncpg.InterfaceError,
        InterfaceError,
        OperationalError,
    ):
        raise  # the database went away: the job stays running, and is resumed after its lease
    except Exception:
        log.exception("import %s failed after row %s", job.id, job.rows_done)
        return await _finish(
            sessionmaker,
            job,
            "failed",
            f"Rows after {job.rows_done} could not be loaded (an internal error, logged).",
        )
    finally:
        with contextlib.suppress(Exception):
            await upcoming  # a thread cannot be cancelled; let it end
    if job.rows_done >= ANALYZE_AFTER_ROWS:
        # Before the job says it succeeded: a client that searches as soon as it sees that
        # must get a plan made for the table as it now is (seen: minutes, with stale ones).
        await _analyze(sessionmaker, resource)
    return await _finish(sessionmaker, job, "succeeded", None)


# An import this large changes the table enough for the planner's statistics to mislead it until
# autovacuum gets round to the table: the first search after importing 12,000 contacts once took
# 90 s (a plan chosen for the table as it was). Statistics are taken again at once instead.
ANALYZE_AFTER_ROWS = 1000


async def _analyze(sessionmaker: async_sessionmaker[AsyncSession], resource: Resource) -> None:
    """Fresh planner statistics for the table an import loaded (a sample: well under a second
    at a million rows; reads and writes go on meanwhile)."""
    async with sessionmaker() as session, session.begin():
        await session.execute(text(f"ANALYZE {resource.table}"))


class _Chunks:
    """The file's rows after those already done, validated, a chunk at a time (in one thread
    at a time), with rows repeating an earlier row's natural key failed as duplicates."""

    def __init__(
        self,
        resource: Resource,
        job: ImportJob,
        definitions: dict[str, CustomFieldDefinition],
        rows: Iterator[sources.SourceRow],
        size: int,
    ) -> None:
        self.resource, self.mode, self.done = resource, job.mode, job.rows_done
        self.definitions, self.rows, self.size = definitions, rows, size
        self.seen: dict[str, int] = {}

    def next(self) -> tuple[list[tuple[Any, ...]], Counts, int] | None:
        resource = self.resource
        chunk: list[tuple[Any, ...]] = []
        counts = Counts()
        last = None
        for row in self.rows:
            raw_key = str(row.values.get(resource.key or "") or "").strip().lower()
            if row.number <= self.done:
                if raw_key:
                    self.seen.setdefault(raw_key, row.number)
                continue
            try:
                prepared = prepare(resource, self.mode, self.definitions, row, counts)
            except Exception:
                # A bug, logged as one; the row fails, the rest of the file still loads.
                log.exception("import row %s could not be prepared", row.number)
                counts.fail(row.number, "the row could not be read (an internal error, logged)")
                prepared = None
            if prepared is not None and raw_key:
                first = self.seen.setdefault(raw_key, row.number)
                if first != row.number:
                    counts.fail(
                        row.number,
                        f"the same {resource.key} as row {first}",
                        [row.columns.get(resource.key or "", resource.key or "")],
                        "duplicate",
                    )
                    prepared = None
            if prepared is not None:
                chunk.append(staged_record(resource, prepared))
            last = row.number
            if last - self.done >= self.size:
                break
        if last is None:
            return None
        self.done = last
        return chunk, counts, last


async def _commit_chunk(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    job: ImportJob,
    chunk: list[tuple[Any, ...]],
    counts: Counts,
    last: int,
) -> None:
    principal = principal_of(job)
    async with sessionmaker() as session, session.begin():
        current = await session.get(
            ImportJob, (job.workspace_id, job.id), with_for_update=True, populate_existing=True
        )
        if current is None or current.rows_done != job.rows_done or current.status != "running":
            raise LostJob
        await load_chunk(session, principal, RESOURCES[job.resource], job, chunk, counts)
        if counts.errors:
            connection = await session.connection()
            raw = (await connection.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.copy_records_to_table(
                "import_row_errors",
                columns=("workspace_id", "job_id", "row", "errors"),
                records=[
                    (job.workspace_id, job.id, number, _json(errors))
                    for number, errors in sorted(counts.errors.items())
                ],
            )
        now = utcnow()
        current.rows_done = last
        current.created += counts.created
        current.updated += counts.updated
        current.unchanged += counts.unchanged
        current.failed += len(counts.errors)
        current.lease_expires_at = now + _lease(settings)
        current.updated_at = now
    for name in ("rows_done", "created", "updated", "unchanged", "failed", "lease_expires_at"):
        setattr(job, name, getattr(current, name))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession],
    job: ImportJob,
    status: str,
    error: str | None,
) -> ImportJob:
    async with sessionmaker() as session, session.begin():
        current = await session.get(
            ImportJob, (job.workspace_id, job.id), with_for_update=True, populate_existing=True
        )
        assert current is not None
        if current.status != "running" or current.rows_done != job.rows_done:
            return current  # another worker took the job over (and may have finished it)
        now = utcnow()
        current.status = status
        current.error = error
        current.finished_at = now
        current.updated_at = now
        current.lease_expires_at = None
        # Partners can subscribe to the end of an import instead of polling it.
        record_event(
            session,
            principal_of(current),
            f"import.{'completed' if status == 'succeeded' else 'failed'}",
            current.id,
            ImportJobRead.model_validate(current),
        )
        # The file has served its purpose; the counts and the row errors stay.
        await session.execute(
            delete(ImportFile).where(
                ImportFile.workspace_id == job.workspace_id, ImportFile.job_id == job.id
            )
        )
    return current


async def run_next(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    progress: Progress | None = None,
) -> ImportJob | None:
    """Claim and run the oldest waiting job; None when there is none."""
    job = await claim_next(sessionmaker, settings)
    if job is None:
        return None
    return await run_job(sessionmaker, settings, job, progress)


async def run_imports(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """The worker's import loop, beside its other jobs: until cancelled."""
    while True:
        try:
            while await run_next(sessionmaker, settings) is not None:
                pass
        except Exception:
            log.exception("import round failed; trying again")
        await asyncio.sleep(settings.worker_poll_seconds)
