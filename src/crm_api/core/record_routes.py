"""The create, list, get and update operations of a record that needs no more, declared once.

A domain names its record, schemas, service functions, scopes and words; the operations come
out as if written by hand: ids ``create_<one>``, ``list_<many>``, ``get_<one>`` and
``update_<one>``, a 201 with a Location on create, If-Match on update and the record's ETag from
the route class (core.routing). Anything more (a delete, an action) the domain adds itself.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch, IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import ListParams, Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.session import SessionDep


@dataclass(frozen=True, slots=True)
class RecordSchemas:
    create: type[BaseModel]
    update: type[BaseModel]
    read: type[BaseModel]
    list_params: type[ListParams]
    # The read model of a stored record (``read.model_validate`` unless the read needs more).
    serve: Callable[[Any], BaseModel]


@dataclass(frozen=True, slots=True)
class RecordService:
    create: Callable[[AsyncSession, Principal, Any], Awaitable[Any]]
    list: Callable[[AsyncSession, Principal, Any], Awaitable[tuple[Sequence[Any], str | None]]]
    get: Callable[[AsyncSession, Principal, uuid.UUID], Awaitable[Any]]
    update: Callable[[AsyncSession, Principal, uuid.UUID, Any, IfMatch], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class RecordDocs:
    """Each operation's summary, and the descriptions of the two writes."""

    create: str
    create_description: str
    list: str
    get: str
    update: str
    update_description: str


def add_record_routes(
    router: APIRouter,
    *,
    one: str,
    many: str,
    schemas: RecordSchemas,
    service: RecordService,
    reader: Any,
    writer: Any,
    docs: RecordDocs,
) -> None:
    """The four operations on ``router`` (its prefix the records' path), in the order create,
    list, get, update. ``reader`` and ``writer`` are the ``Annotated`` principals they require."""
    create_model: Any = schemas.create
    update_model: Any = schemas.update
    read_model: Any = schemas.read
    params_model = schemas.list_params
    record_id = f"{one}_id"
    by_path: Any = Annotated[uuid.UUID, Path(alias=record_id)]  # named as the path names it
    serve = schemas.serve

    async def create(
        data: create_model, session: SessionDep, principal: writer, response: Response
    ) -> read_model:
        record = await service.create(session, principal, data)
        response.headers["Location"] = f"{router.prefix}/{record.id}"
        return serve(record)

    async def list_records(
        params: Annotated[ListParams, Depends(list_params(params_model))],
        session: SessionDep,
        principal: reader,
    ) -> Page[read_model]:
        rows, next_cursor = await service.list(session, principal, params)
        return Page(data=[serve(row) for row in rows], next_cursor=next_cursor)

    async def get(id_: by_path, session: SessionDep, principal: reader) -> read_model:
        return serve(await service.get(session, principal, id_))

    async def update(
        id_: by_path,
        data: update_model,
        session: SessionDep,
        principal: writer,
        if_match: IfMatchDep,
    ) -> read_model:
        return serve(await service.update(session, principal, id_, data, if_match))

    by_id = f"/{{{record_id}:uuid}}"
    router.add_api_route(
        "",
        create,
        methods=["POST"],
        name=f"create_{one}",
        status_code=status.HTTP_201_CREATED,
        summary=docs.create,
        description=docs.create_description,
        responses=problem_responses(400, 409, 413, 415),
    )
    router.add_api_route(
        "",
        list_records,
        methods=["GET"],
        name=f"list_{many}",
        summary=docs.list,
        openapi_extra=documented_params(params_model),
    )
    router.add_api_route(
        by_id,
        get,
        methods=["GET"],
        name=f"get_{one}",
        summary=docs.get,
        responses=problem_responses(404),
    )
    router.add_api_route(
        by_id,
        update,
        methods=["PATCH"],
        name=f"update_{one}",
        summary=docs.update,
        description=docs.update_description,
        responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
    )
