"""Batch writes: up to 100 items a call, each in its own savepoint, so a bad item is reported
(with the problem it would have had alone) and never sinks the others. The items that succeed,
and their events, commit together with the call.

Items are validated one by one, not as a whole body: an invalid item is a 422 in its own
result, with `loc` starting at `["body", "items", <index>]`.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.concurrency import IfMatch, etag
from crm_api.core.error_handlers import integrity_problem
from crm_api.core.errors import CRMError, FieldError, Problem, ValidationFailed, in_our_words
from crm_api.core.schemas import InputSchema

Resource = TypeVar("Resource", bound=BaseModel)
Input = TypeVar("Input", bound=BaseModel)
MAX_ITEMS = 100
BATCH_DESCRIPTION = (
    "One result per item, in order, with the status and record (or problem) it would have had"
    " alone; one bad item never sinks the others, and the good ones commit together."
)


class BatchRequest(InputSchema):
    operation: Literal["create", "update", "upsert"] = Field(
        description="`create`: items are create bodies. `update`: items are `{id, version?, "
        "data}` with `data` as in PATCH and `version` checked like If-Match. `upsert`: create "
        "bodies matched on the natural key."
    )
    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ITEMS)


class UpdateItem(InputSchema):
    id: uuid.UUID
    version: int | None = Field(default=None, ge=1, description="Refused (412) when stale.")
    data: dict[str, Any]


class BatchItemResult(BaseModel, Generic[Resource]):
    index: int
    status: int = Field(description="What the item would have answered alone: 200, 201, 4xx.")
    id: uuid.UUID | None = None
    resource: Resource | None = None
    problem: Problem | None = None


class BatchResult(BaseModel, Generic[Resource]):
    succeeded: int
    failed: int
    results: list[BatchItemResult[Resource]]


Handler = Callable[[dict[str, Any]], Awaitable[tuple[int, uuid.UUID, Resource]]]


def _located(index: int, errors: list[FieldError] | None) -> list[FieldError] | None:
    if not errors:
        return errors
    located = []
    for error in errors:
        loc = error.loc[1:] if error.loc[:1] == ["body"] else error.loc
        located.append(
            FieldError(loc=["body", "items", index, *loc], msg=error.msg, type=error.type)
        )
    return located


def _problem(index: int, error: CRMError) -> Problem:
    problem = error.to_problem(instance=None)
    problem.errors = _located(index, problem.errors)
    return problem


def validated(model: type[Input], value: Any, *loc: str | int) -> Input:
    """`value` as `model`, or a 422 whose fields are located under `loc` in the item."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise ValidationFailed(
            "The item is not valid.",
            errors=[
                FieldError(loc=[*loc, *e["loc"]], msg=in_our_words(dict(e)), type=e["type"])
                for e in exc.errors()
            ],
        ) from None


async def run_batch(
    session: AsyncSession, items: list[dict[str, Any]], handle: Handler[Resource]
) -> BatchResult[Resource]:
    results: list[BatchItemResult[Resource]] = []
    for index, item in enumerate(items):
        try:
            async with session.begin_nested():
                status, record_id, resource = await handle(item)
                await session.flush()
        except IntegrityError as exc:
            error = integrity_problem(exc)
            results.append(
                BatchItemResult(index=index, status=error.status, problem=_problem(index, error))
            )
        except CRMError as error:
            results.append(
                BatchItemResult(index=index, status=error.status, problem=_problem(index, error))
            )
        else:
            results.append(
                BatchItemResult(index=index, status=status, id=record_id, resource=resource)
            )
    failed_count = sum(1 for result in results if result.problem is not None)
    return BatchResult(succeeded=len(results) - failed_count, failed=failed_count, results=results)


Create = tuple[type[BaseModel], Callable[[Any], Awaitable[Any]]]
Update = tuple[type[BaseModel], Callable[[uuid.UUID, Any, IfMatch], Awaitable[Any]]]
Upsert = tuple[type[BaseModel], Callable[[Any], Awaitable[tuple[Any, bool]]]]


async def batch(
    session: AsyncSession,
    request: BatchRequest,
    read: Callable[[Any], Resource],
    *,
    create: Create,
    update: Update,
    upsert: Upsert | None,
) -> BatchResult[Resource]:
    """Runs the request's operation on each item through the resource's own service
    functions: (input model, function) for each operation; `read` renders a record."""
    if request.operation == "upsert" and upsert is None:
        raise ValidationFailed(
            "These records have no natural key to upsert on; use create or update.",
            errors=[FieldError(loc=["body", "operation"], msg="not supported", type="enum")],
        )

    async def handle(item: dict[str, Any]) -> tuple[int, uuid.UUID, Resource]:
        if request.operation == "create":
            model, make = create
            record = await make(validated(model, item))
            return 201, record.id, read(record)
        if request.operation == "upsert":
            assert upsert is not None
            model, put = upsert
            record, created = await put(validated(model, item))
            return (201 if created else 200), record.id, read(record)
        change = validated(UpdateItem, item)
        model, change_one = update
        precondition = IfMatch(etag(change.version) if change.version is not None else None)
        record = await change_one(change.id, validated(model, change.data, "data"), precondition)
        return 200, record.id, read(record)

    return await run_batch(session, request.items, handle)
