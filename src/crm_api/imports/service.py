import uuid

import orjson
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal, Scope
from crm_api.core.errors import NotFound, ValidationFailed, field_error, invalid_field
from crm_api.core.pagination import Sort, encode_cursor, page_of, paginate, parse_sort
from crm_api.models import ImportFile, ImportJob, ImportRowError

from . import sources
from .resources import RESOURCES
from .schemas import ImportErrorListParams, ImportListParams, ImportMode, ImportResource

_READ_SCOPES = {
    "contacts": Scope.contacts_read,
    "companies": Scope.companies_read,
    "deals": Scope.deals_read,
}
_WRITE_SCOPES = {
    "contacts": Scope.contacts_write,
    "companies": Scope.companies_write,
    "deals": Scope.deals_write,
}


def _format_of(filename: str | None, content_type: str | None) -> sources.Format:
    name = (filename or "").lower()
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if name.endswith((".jsonl", ".ndjson")) or media_type in (
        "application/x-ndjson",
        "application/jsonl",
        "application/jsonlines",
    ):
        return "jsonl"
    if name.endswith(".csv") or media_type in ("text/csv", "application/csv"):
        return "csv"
    raise invalid_field(
        ["body", "file"],
        "send a .csv (text/csv) or .jsonl (application/x-ndjson) file",
        "file_type",
    )


def _mapping_of(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        mapping = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_field(["body", "mapping"], f"is not valid JSON ({exc})") from exc
    if not isinstance(mapping, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in mapping.items()
    ):
        raise invalid_field(
            ["body", "mapping"], 'must be an object of column -> field names: {"Email": "email"}'
        )
    return mapping


async def create_job(
    session: AsyncSession,
    principal: Principal,
    *,
    resource: ImportResource,
    mode: ImportMode,
    mapping: str | None,
    reimport_erased: bool,
    filename: str | None,
    content_type: str | None,
    content: bytes,
) -> ImportJob:
    """Check the file and its mapping now (a 422 names what is wrong), and queue the job."""
    principal.require(_WRITE_SCOPES[resource])
    spec = RESOURCES[resource]
    if mode == "upsert" and spec.key is None:
        raise invalid_field(
            ["body", "mode"], f"{resource} have no natural key to upsert on; use create"
        )
    fmt = _format_of(filename, content_type)
    text = sources.decode(content)
    resolved = sources.resolve_mapping(fmt, text, spec.fields, _mapping_of(mapping))
    total = sources.count_rows(fmt, text)
    if total == 0:
        raise ValidationFailed(
            "The file has no data rows.",
            errors=[field_error(["body", "file"], "has no data rows", "empty")],
        )
    job = ImportJob(
        workspace_id=principal.workspace_id,
        resource=resource,
        format=fmt,
        mode=mode,
        filename=filename[:255] if filename else None,
        mapping=resolved,
        reimport_erased=reimport_erased,
        rows_total=total,
        actor_type=principal.actor_type,
        actor_id=principal.actor_id,
    )
    session.add(job)
    await session.flush()
    session.add(ImportFile(workspace_id=principal.workspace_id, job_id=job.id, content=content))
    await session.flush()
    return job


def _readable(principal: Principal) -> list[str]:
    if Scope.admin in principal.scopes:
        return list(_READ_SCOPES)
    return [name for name, scope in _READ_SCOPES.items() if scope in principal.scopes]


async def get_job(session: AsyncSession, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    job = await session.get(ImportJob, (principal.workspace_id, job_id))
    if job is None:
        raise NotFound(f"No import {job_id}.")
    principal.require(_READ_SCOPES[job.resource])
    return job


async def list_jobs(
    session: AsyncSession, principal: Principal, params: ImportListParams
) -> tuple[list[ImportJob], str | None]:
    """The imports of the resources the key may read."""
    sort = parse_sort(params.sort, {"created_at": ImportJob.created_at})
    conditions: list[ColumnElement[bool]] = [
        ImportJob.workspace_id == principal.workspace_id,
        ImportJob.resource.in_(_readable(principal)),
    ]
    if params.resource is not None:
        conditions.append(ImportJob.resource == params.resource)
    if params.status is not None:
        conditions.append(ImportJob.status == params.status)
    statement = paginate(select(ImportJob).where(*conditions), ImportJob.id, sort, params)
    rows = (await session.scalars(statement)).all()
    return page_of(rows, sort, params)


async def list_errors(
    session: AsyncSession, principal: Principal, job_id: uuid.UUID, params: ImportErrorListParams
) -> tuple[list[ImportRowError], str | None]:
    job = await get_job(session, principal, job_id)
    sort = Sort(field="row", column=ImportRowError.row, descending=False)
    statement = select(ImportRowError).where(
        ImportRowError.workspace_id == principal.workspace_id, ImportRowError.job_id == job.id
    )
    rows = (await session.scalars(paginate(statement, ImportRowError.job_id, sort, params))).all()
    page = list(rows[: params.limit])
    if len(rows) <= params.limit:
        return page, None
    return page, encode_cursor(sort, page[-1].row, job.id)
