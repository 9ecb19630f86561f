"""Every error the app can meet, turned into ``application/problem+json``; a 500 is always a bug."""

import logging
import re
from http import HTTPStatus
from typing import Any

from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crm_api.core.db import violated_constraint
from crm_api.core.errors import (
    PROBLEM_MEDIA_TYPE,
    Conflict,
    CRMError,
    FieldError,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    client_errors,
    field_error,
    in_our_words,
)
from crm_api.core.json import dumps
from crm_api.models import CONSTRAINT_FIELDS

logger = logging.getLogger("crm_api.errors")


def problem_body(error: CRMError, path: str) -> bytes:
    return dumps(error.to_problem(instance=path).model_dump(exclude_none=True))


def problem_response(error: CRMError, request: Request) -> Response:
    # An error answer tells a rate-limited caller its quota too (core.rate_limit).
    quota = getattr(request.state, "quota", None)
    headers = {**quota.headers(), **(error.headers or {})} if quota is not None else error.headers
    return Response(
        problem_body(error, request.url.path),
        status_code=error.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _validation_problem(exc: RequestValidationError) -> CRMError:
    raw_errors: list[dict[str, Any]] = client_errors(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw_errors):
        return MalformedRequest("The request body is not valid JSON.")
    errors = [
        FieldError(loc=list(e.get("loc", ())), msg=in_our_words(e), type=str(e.get("type")))
        for e in raw_errors
    ]
    fields = ", ".join(".".join(map(str, e.loc)) for e in errors)
    return ValidationFailed(f"Invalid fields: {fields}", errors=errors)


def integrity_problem(exc: IntegrityError) -> CRMError:
    cause = getattr(exc.orig, "__cause__", None)
    constraint, sqlstate = violated_constraint(exc)
    constraint = constraint or ""
    field = CONSTRAINT_FIELDS.get(constraint, constraint) or getattr(cause, "column_name", "")
    message = str(getattr(cause, "detail", None) or getattr(cause, "message", "") or "")
    if sqlstate == "23505":
        return Conflict(f"A record with this {field} already exists.")
    if sqlstate == "23503":
        if "is still referenced" in message:
            # fk_<table>_<column>: the kind of record that still points at this one, in words.
            table = re.sub(r"^fk_|_[a-z]+$", "", constraint).replace("_", " ") or "other records"
            return Conflict(
                f"Other records still refer to this one ({table}), so it cannot be deleted."
            )
        return ValidationFailed(
            f"{field} refers to a record that does not exist.",
            errors=[field_error(["body", field], "no such record in this workspace", "not_found")],
        )
    if sqlstate in {"23514", "23502"}:
        return ValidationFailed(
            f"{field} is invalid.", errors=[field_error(["body", field], "invalid value")]
        )
    return Conflict("The change conflicts with the current state of the data.")


_UUID_PATTERN = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _malformed_id(request: Request) -> CRMError | None:
    """A path that would name an operation but for an id that is not a UUID (`/v1/contacts/123`):
    a 404 that says the id is malformed, rather than that no route matches."""
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        request.app.state, "id_templates", None
    )
    if table is None:
        table = []
        for path in request.app.openapi()["paths"]:
            names = re.findall(r"\{([^/]+)\}", path)
            if names:
                template = re.escape(path).replace(r"\{", "{").replace(r"\}", "}")
                table.append(
                    (re.compile("^" + re.sub(r"\{[^/]+\}", "([^/]+)", template) + "$"), names)
                )
        request.app.state.id_templates = table
    for template_pattern, names in table:
        found = template_pattern.match(request.url.path)
        if found is None:
            continue
        for name, value in zip(names, found.groups(), strict=True):
            if not re.fullmatch(_UUID_PATTERN, value):
                return NotFound(
                    f"{value!r} is not an id: {name} is a UUID, such as "
                    "01a21cd0-e328-7788-ae74-05a10ed854f0.",
                    errors=[field_error(["path", name], "must be a UUID", "uuid_parsing")],
                )
    return None


def _allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document gives for this path: a literal path wins over templates."""
    table: list[tuple[re.Pattern[str], bool, set[str]]] | None = getattr(
        request.app.state, "allowed_methods", None
    )
    if table is None:
        table = [
            (
                # Every path parameter is a UUID (routes declare them `:uuid`).
                re.compile("^" + re.sub(r"\{[^/]+\}", _UUID_PATTERN, path) + "$"),
                "{" not in path,
                {method.upper() for method in operations},
            )
            for path, operations in request.app.openapi()["paths"].items()
        ]
        request.app.state.allowed_methods = table
    matches = [
        (literal, methods) for pattern, literal, methods in table if pattern.match(request.url.path)
    ]
    literal = [methods for is_literal, methods in matches if is_literal]
    chosen = literal or [methods for _, methods in matches]
    return ", ".join(sorted(set().union(*chosen)))


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE of an asyncpg error, raised through SQLAlchemy or by asyncpg itself."""
    original = getattr(exc, "orig", None)
    cause = getattr(original, "__cause__", None)
    return str(
        getattr(original, "sqlstate", None)
        or getattr(cause, "sqlstate", None)
        or getattr(exc, "sqlstate", None)
        or ""
    )


# Connection exceptions, and a server shutting down, crashed or still starting up.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def _is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError):
        return (
            bool(exc.connection_invalidated)
            or isinstance(exc.orig, OSError | TimeoutError)
            or _sqlstate(exc).startswith(_UNAVAILABLE_SQLSTATES)
        )
    return isinstance(exc, OSError | TimeoutError) or _sqlstate(exc).startswith(
        _UNAVAILABLE_SQLSTATES
    )


# Serialization failure, deadlock, lock not available: the request lost a race with another and
# was rolled back whole; the same request again will most likely pass.
_TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03")


def unexpected_error(exc: BaseException) -> CRMError:
    """A 503 when the database is unreachable or the request lost a race with a concurrent one
    (deadlock, serialization failure); anything else is a bug, logged, and a 500."""
    if _sqlstate(exc) in _TRANSIENT_SQLSTATES:
        logger.warning("request rolled back by a concurrent one (SQLSTATE %s)", _sqlstate(exc))
        return ServiceUnavailable(
            "A concurrent request changed the same records; nothing was changed. Retry.",
            headers={"Retry-After": "1"},
        )
    if _is_unavailable(exc):
        logger.warning("database unavailable: %s", exc)
        return ServiceUnavailable(
            "The database is unreachable; retry shortly.", headers={"Retry-After": "1"}
        )
    logger.exception("unhandled error", exc_info=exc)
    return CRMError("An unexpected error occurred; it has been logged.")


def install_error_handlers(app: FastAPI) -> None:
    async def on_crm_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CRMError)
        return problem_response(exc, request)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(_validation_problem(exc), request)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        error: CRMError
        if exc.status_code == 404:
            error = _malformed_id(request) or NotFound(
                f"No route matches {request.method} {request.url.path}."
            )
        elif exc.status_code == 405:
            error = MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}.",
                headers={"Allow": _allowed_methods(request)},
            )
        else:
            error = CRMError(str(exc.detail), headers=dict(exc.headers or {}))
            phrase = HTTPStatus(exc.status_code).phrase
            error.status, error.title = exc.status_code, phrase
            error.slug = phrase.lower().replace(" ", "-")
        return problem_response(error, request)

    async def on_integrity_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, IntegrityError)
        return problem_response(integrity_problem(exc), request)

    async def on_data_error(request: Request, exc: Exception) -> Response:
        # Bounds are checked by the schemas; this is the net for a value PostgreSQL still refuses.
        logger.warning("value refused by the database: %s", exc)
        return problem_response(
            ValidationFailed("A value is out of range or cannot be stored."), request
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        # Installed on Starlette's outermost middleware, so the request id is added here by hand.
        if _sqlstate(exc).startswith("22"):  # data exception: a value PostgreSQL refuses
            return await on_data_error(request, exc)
        response = problem_response(unexpected_error(exc), request)
        request_id = correlation_id.get()
        if request_id:
            response.headers["X-Request-ID"] = request_id
        return response

    app.add_exception_handler(CRMError, on_crm_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(IntegrityError, on_integrity_error)
    app.add_exception_handler(DataError, on_data_error)
    app.add_exception_handler(DBAPIError, on_unexpected)
    app.add_exception_handler(OSError, on_unexpected)
    app.add_exception_handler(Exception, on_unexpected)
