"""List parameters parsed by pydantic in one call.

FastAPI re-inspects every field's type annotation of a query-parameter model on every request,
which for a list with two dozen filters cost more than the database query. `list_params` takes
the query string straight to `model_validate` and documents the same parameters in OpenAPI.
"""

import types
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, Union, get_args, get_origin

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Params = TypeVar("Params", bound=BaseModel)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_list(arg) for arg in get_args(annotation))
    return get_origin(annotation) is list


def list_params(model: type[Params]) -> Callable[[Request], Coroutine[Any, Any, Params]]:
    """A dependency that validates the query string against ``model``."""
    repeated = frozenset(
        name for name, field in model.model_fields.items() if _is_list(field.annotation)
    )

    async def dependency(request: Request) -> Params:
        raw: dict[str, Any] = {}
        for key, value in request.query_params.multi_items():
            if key in repeated:
                raw.setdefault(key, []).append(value)
            else:
                raw[key] = value
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            errors = [{**error, "loc": ("query", *error["loc"])} for error in exc.errors()]
            raise RequestValidationError(errors) from exc

    return dependency


def documented_params(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` that lists ``model``'s fields as the operation's query parameters."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in schema.get("required", ()),
            "schema": {key: value for key, value in prop.items() if key != "description"},
            **({"description": prop["description"]} if "description" in prop else {}),
        }
        for name, prop in schema["properties"].items()
    ]
    return {"parameters": parameters}
