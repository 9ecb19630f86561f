"""One error class tree, rendered as RFC 9457 ``application/problem+json`` by one handler set."""

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

PROBLEM_BASE = "https://crm-api.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Path to the field at fault, e.g. ['body', 'email'].")
    msg: str
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    existing_id: str | None = Field(
        default=None, description="On a duplicate (409), the id of the record that already exists."
    )
    missing_scope: str | None = Field(default=None, description="On 403, the scope the key lacks.")
    allowed: list[str] | None = Field(
        default=None, description="On an invalid state transition, what is allowed."
    )


class CRMError(Exception):
    status: int = 500
    slug: str = "internal-error"
    title: str = "Internal server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors) if errors else None
        self.headers = headers or {}
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=PROBLEM_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
            **self.extra,
        )


class MalformedRequest(CRMError):
    status, slug, title = 400, "malformed-request", "Malformed request"


class Unauthorized(CRMError):
    status, slug, title = 401, "unauthorized", "Missing or invalid credentials"


class Forbidden(CRMError):
    status, slug, title = 403, "forbidden", "Missing scope"


class NotFound(CRMError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowed(CRMError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class Conflict(CRMError):
    status, slug, title = 409, "conflict", "Conflict"


class Duplicate(Conflict):
    slug, title = "duplicate", "Duplicate record"


class PreconditionFailed(CRMError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(CRMError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class UnsupportedMediaType(CRMError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailed(CRMError):
    status, slug, title = 422, "validation-error", "Invalid request"


class PreconditionRequired(CRMError):
    status, slug, title = 428, "precondition-required", "If-Match required"


class RateLimited(CRMError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServiceUnavailable(CRMError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def field_error(loc: Sequence[str | int], msg: str, type_: str = "value_error") -> FieldError:
    return FieldError(loc=list(loc), msg=msg, type=type_)


def invalid_field(
    loc: Sequence[str | int], msg: str, type_: str = "value_error"
) -> ValidationFailed:
    return ValidationFailed(
        f"{'.'.join(map(str, loc))}: {msg}", errors=[field_error(loc, msg, type_)]
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the error statuses an operation can answer.

    ``app.openapi`` files them under ``application/problem+json``.
    """
    descriptions = {
        400: "Malformed request (e.g. invalid JSON)",
        401: "Missing or invalid API key",
        403: "The API key lacks the required scope",
        404: "Not found (or in another workspace)",
        409: "Conflict: a duplicate natural key, a state that does not allow the change, or an "
        "Idempotency-Key whose first request is still running or showed a secret once",
        412: "If-Match does not match the current version",
        413: "Request body too large",
        415: "Content-Type is not application/json",
        422: "A field is invalid",
        428: "If-Match is required",
        429: "Rate limited; retry after the Retry-After header's seconds",
    }
    return {status: {"model": Problem, "description": descriptions[status]} for status in statuses}


# Pydantic's wording where it reads as the library talking, not the API.
_OUR_WORDS = {
    "missing": "is required",
    "uuid_parsing": "must be an id: a UUID such as 01a21cd0-e328-7788-ae74-05a10ed854f0",
    "uuid_type": "must be an id: a UUID such as 01a21cd0-e328-7788-ae74-05a10ed854f0",
}


def _is_field(part: object) -> bool:
    """A location part a client wrote (a field, a key, an index), not one of Pydantic's tags
    for the branch of a union it tried (`list[constrained-str]`, `Preferences`)."""
    return isinstance(part, int) or (
        isinstance(part, str) and "[" not in part and not part[:1].isupper()
    )


def client_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors as a client can read them: locations without Pydantic's union tags,
    and without the "Input should be None" of an optional field's other branch when a real
    reason stands beside it."""
    cleaned = []
    for error in raw:
        raw_loc = list(error.get("loc", ()))
        # A header's or parameter's own name is kept as written (Idempotency-Key).
        named = 2 if raw_loc[:1] in (["header"], ["query"], ["path"], ["cookie"]) else 0
        loc = raw_loc[:named] + [part for part in raw_loc[named:] if _is_field(part)]
        if error.get("type") == "none_required" and loc[-1:] == ["none"]:
            loc = loc[:-1]  # the tag of a union's None branch
        cleaned.append({**error, "loc": tuple(loc)})
    reasons = [e["loc"] for e in cleaned if e.get("type") != "none_required"]
    kept = [
        e
        for e in cleaned
        if e.get("type") != "none_required"
        or not any(loc[: len(e["loc"])] == e["loc"] for loc in reasons)
    ]
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for error in kept:
        unique.setdefault((error["loc"], error.get("type")), error)
    return list(unique.values())


def in_our_words(error: dict[str, Any]) -> str:
    """A validation error's message as the API words it (for requests, batch items, import
    rows and saved filters alike)."""
    kind = str(error.get("type"))
    if kind == "extra_forbidden":
        where = error.get("loc", ("body",))[0]
        return f"is not a {'field of this body' if where == 'body' else 'parameter here'}"
    return _OUR_WORDS.get(kind) or str(error.get("msg", "")).removeprefix("Value error, ")
