"""Streamed exports of a list with its filters, as CSV or JSON Lines, with no row limit.

The first page is read inside the request's unit of work, so a bad filter or sort is the usual
problem response; the rest streams from a session of its own, page by page along the list's
keyset (the same index-served query as the list itself), so memory stays flat however many
rows there are.
"""

import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.pagination import ListParams
from crm_api.core.query import documented_params, list_params
from crm_api.core.session import SessionDep

PAGE = 1000
Format = Literal["csv", "jsonl"]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
Fetch = Callable[[AsyncSession, Principal, Any], Awaitable[tuple[Sequence[BaseModel], str | None]]]


class ExportFormat(BaseModel):
    format: Format = Field(default="csv", description="`csv` or `jsonl` (JSON Lines).")


def documented_export() -> dict[int | str, dict[str, Any]]:
    text = {"schema": {"type": "string"}}
    return {
        200: {
            "description": "The rows, streamed",
            "content": {"text/csv": text, "application/x-ndjson": text},
        }
    }


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such a
# cell is written with a leading apostrophe, as OWASP recommends, unless it is a plain number.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def read_cell(text: str) -> str:
    """A CSV cell as it was before ``_cell`` guarded it: an import reads an export back."""
    if text[:1] == "'" and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def encode_rows(records: Sequence[BaseModel], fmt: Format, header: list[str] | None) -> bytes:
    rows = [record.model_dump(mode="json") for record in records]
    if fmt == "jsonl":
        return b"".join(orjson.dumps(row) + b"\n" for row in rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row.values()])
    return buffer.getvalue().encode()


async def export_response(
    request: Request,
    session: AsyncSession,
    principal: Principal,
    params: ListParams,
    fmt: Format,
    fetch: Fetch,
    model: type[BaseModel],
    name: str,
) -> StreamingResponse:
    # `limit` does not apply (no row limit); a `cursor` resumes an interrupted export.
    params = params.model_copy(update={"limit": PAGE})
    first, cursor = await fetch(session, principal, params)

    async def body() -> AsyncIterator[bytes]:
        yield encode_rows(first, fmt, header=list(model.model_fields))
        after = cursor
        if after is None:
            return
        async with request.app.state.sessionmaker() as own:
            while after is not None:
                page, after = await fetch(
                    own, principal, params.model_copy(update={"cursor": after})
                )
                yield encode_rows(page, fmt, header=None)

    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


def read_as(
    list_rows: Callable[
        [AsyncSession, Principal, Any], Awaitable[tuple[Sequence[Any], str | None]]
    ],
    read: type[BaseModel],
) -> Fetch:
    """A list's service function whose rows become ``read`` models, as its list route does."""

    async def fetch(
        session: AsyncSession, principal: Principal, params: Any
    ) -> tuple[Sequence[BaseModel], str | None]:
        rows, cursor = await list_rows(session, principal, params)
        return [read.model_validate(row) for row in rows], cursor

    return fetch


def add_export_route(
    router: APIRouter,
    *,
    plural: str,
    list_model: type[ListParams],
    fetch: Fetch,
    read: type[BaseModel],
    reader: Any,
    importable: bool = False,
) -> None:
    """`GET <router prefix>/export`: the list's filters and sort, streamed (see above);
    ``importable`` when `POST /v1/imports` takes the file back."""
    params_model = type(
        f"{read.__name__.removesuffix('Read')}ExportParams", (list_model, ExportFormat), {}
    )

    async def endpoint(
        request: Request,
        session: SessionDep,
        principal: reader,
        params: Any = Depends(list_params(params_model)),
    ) -> StreamingResponse:
        return await export_response(
            request, session, principal, params, params.format, fetch, read, plural
        )

    router.add_api_route(
        "/export",
        endpoint,
        methods=["GET"],
        name=f"export_{plural}",
        summary=f"Export {plural} as CSV or JSON Lines",
        description=f"Every one of the {plural} the list's filters and sort select, streamed "
        "with no row limit (nested fields as JSON in CSV cells); `limit` does not apply, a "
        "`cursor` resumes after it."
        + (
            " Links to other records are also written by what names them in any workspace "
            "(`company_domain`, `owner_email`, and for deals `pipeline_name` and `stage_name`), "
            "so the file imports (`POST /v1/imports`) into another workspace with its links."
            if importable
            else ""
        ),
        responses=documented_export(),
        response_class=StreamingResponse,
        openapi_extra=documented_params(params_model),
    )
