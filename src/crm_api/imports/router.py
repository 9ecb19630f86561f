"""Imports: upload a CSV or JSON Lines file of contacts, companies or deals; a worker loads it."""

import uuid
from typing import Annotated

from fastapi import Depends, File, Form, Response, UploadFile, status

from crm_api.core.auth import PrincipalDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import (
    ImportErrorListParams,
    ImportJobRead,
    ImportListParams,
    ImportMode,
    ImportResource,
    ImportRowErrorRead,
)

router = crm_router("/v1/imports", "Imports")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file to import",
    description=(
        "A `multipart/form-data` upload: the file (CSV with a header row, or JSON Lines), the "
        "resource, the mode (`upsert` matches contacts by email and companies by domain; deals "
        "have no natural key, so `create` only) and, optionally, a mapping of columns to fields "
        "(`custom_fields.<key>` for a custom field). Without a mapping, CSV columns named after "
        "a field are taken, and JSON Lines keys name their fields. Linked records can be named "
        "as an export from any workspace names them: `company_domain` and `owner_email` "
        "(contacts, deals), `pipeline_name` and `stage_name` (deals); a name given takes the "
        "place of the id, and a name this workspace does not know fails its row. "
        "The file and mapping are "
        "checked at once (422); rows are loaded in the background, and each row that fails is "
        "reported at `/v1/imports/{id}/errors` without stopping the rest; `import.completed` "
        "or `import.failed` is recorded at the end. Needs the resource's write scope."
    ),
    responses=problem_responses(400, 409, 413, 415),
)
async def create_import(
    session: SessionDep,
    principal: PrincipalDep,
    response: Response,
    file: Annotated[UploadFile, File(description="A .csv or .jsonl file, UTF-8.")],
    resource: Annotated[ImportResource, Form()],
    mode: Annotated[ImportMode, Form()] = "create",
    mapping: Annotated[
        str | None,
        Form(
            description='A JSON object of source column -> field: {"E-mail": "email", '
            '"Plan": "custom_fields.plan"}.'
        ),
    ] = None,
    reimport_erased: Annotated[
        bool, Form(description="Create contacts whose email was erased before.")
    ] = False,
) -> ImportJobRead:
    job = await service.create_job(
        session,
        principal,
        resource=resource,
        mode=mode,
        mapping=mapping,
        reimport_erased=reimport_erased,
        filename=file.filename,
        content_type=file.content_type,
        content=await file.read(),
    )
    response.headers["Location"] = f"/v1/imports/{job.id}"
    return ImportJobRead.model_validate(job)


@router.get(
    "",
    summary="List imports",
    description="Newest first; only imports of resources the key may read.",
    openapi_extra=documented_params(ImportListParams),
)
async def list_imports(
    params: Annotated[ImportListParams, Depends(list_params(ImportListParams))],
    session: SessionDep,
    principal: PrincipalDep,
) -> Page[ImportJobRead]:
    rows, next_cursor = await service.list_jobs(session, principal, params)
    return Page(data=[ImportJobRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get(
    "/{import_id}",
    summary="Get an import and its progress",
    responses=problem_responses(404),
)
async def get_import(
    import_id: uuid.UUID, session: SessionDep, principal: PrincipalDep
) -> ImportJobRead:
    return ImportJobRead.model_validate(await service.get_job(session, principal, import_id))


@router.get(
    "/{import_id}/errors",
    summary="The rows an import could not load, and why",
    description="In row order; each error names the source column at fault.",
    responses=problem_responses(404),
    openapi_extra=documented_params(ImportErrorListParams),
)
async def list_import_errors(
    import_id: uuid.UUID,
    params: Annotated[ImportErrorListParams, Depends(list_params(ImportErrorListParams))],
    session: SessionDep,
    principal: PrincipalDep,
) -> Page[ImportRowErrorRead]:
    rows, next_cursor = await service.list_errors(session, principal, import_id, params)
    return Page(
        data=[ImportRowErrorRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )
