"""Each error response of the document shows the problem a client will really get.

Every 4xx and 5xx is ``application/problem+json`` (RFC 9457) with the one ``Problem`` schema, so
a generated example would show the same made-up body under every status. Each response gets an
example built by the error class that answers it (its type, title and status, and a detail as
the service words it), and the portal's operations, which take a customer's token rather than
an API key, say so in their 401 and 403.
"""

from typing import Any

from crm_api.core.errors import (
    PROBLEM_MEDIA_TYPE,
    Conflict,
    CRMError,
    Forbidden,
    MalformedRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from crm_api.core.openapi_descriptions import owner_noun
from crm_api.core.openapi_walk import operations, resolved

_PORTAL = "/v1/portal/"

# What each status says, as the service says it: the example a client can code against.
_EXAMPLES: dict[str, CRMError] = {
    "400": MalformedRequest("The request body is not valid JSON."),
    "401": Unauthorized("Send an API key as `Authorization: Bearer <key>`."),
    "403": Forbidden(
        "This API key lacks the 'contacts:write' scope.", missing_scope="contacts:write"
    ),
    "404": NotFound("No contact 01a21cd0-e328-7788-ae74-05a10ed854f0."),
    "405": MethodNotAllowed("PUT is not allowed here; use GET, PATCH or DELETE."),
    "409": Conflict("A contact with this email already exists."),
    "412": PreconditionFailed('If-Match "2" does not match the current version "3".'),
    "413": PayloadTooLarge("The request body is larger than 1048576 bytes."),
    "415": UnsupportedMediaType("Send the body as application/json, not text/plain."),
    "422": ValidationFailed(
        "Invalid fields: body.email",
        errors=[
            field_error(["body", "email"], "value is not a valid email address", "value_error")
        ],
    ),
    "428": PreconditionRequired("This workspace requires If-Match on every change."),
    "429": RateLimited("More than 6000 per 1 minute requests for this API key; retry in 42 s."),
    "503": ServiceUnavailable("The database is unreachable; retry shortly."),
}
_PORTAL_EXAMPLES: dict[str, CRMError] = {
    "401": Unauthorized("The portal account is disabled or gone, or this sign-in has ended."),
    "403": Forbidden("This portal account may not do that."),
    "429": RateLimited(
        "More than 6000 per 1 minute requests for this portal account; retry in 42 s."
    ),
}
_ID = "01a21cd0-e328-7788-ae74-05a10ed854f0"


def _for_operation(
    document: dict[str, Any], path: str, operation: dict[str, Any], status: str
) -> CRMError | None:
    """The example this operation would really answer with, where it differs from the rest."""
    if status == "403":
        scopes = next(iter(operation.get("security") or [{}])).get("ApiKey") or []
        if scopes:
            scope = scopes[0]
            return Forbidden(f"This API key lacks the '{scope}' scope.", missing_scope=scope)
    if status == "404" and "{" in path:
        return NotFound(f"No {owner_noun(path)} {_ID}.")
    if status == "409" and not path.startswith("/v1/contacts"):
        return Conflict("The change conflicts with the record's current state.")
    if status == "422":
        content = operation.get("requestBody", {}).get("content", {})
        body = resolved(document, content.get("application/json", {}).get("schema", {}))
        required = body.get("required", [])
        if required:
            loc = ["body", required[0]]
            return ValidationFailed(
                f"Invalid fields: body.{required[0]}",
                errors=[field_error(loc, "is required", "missing")],
            )
        queries = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
        if "limit" in queries:
            return ValidationFailed(
                "Invalid fields: query.limit",
                errors=[
                    field_error(
                        ["query", "limit"], "Input should be less than or equal to 100", "le"
                    )
                ],
            )
        if not content and queries:
            return ValidationFailed(
                "Invalid fields: query.expand",
                errors=[
                    field_error(["query", "expand"], "is not a parameter here", "extra_forbidden")
                ],
            )
    return None


_PORTAL_DESCRIPTIONS = {
    "401": "Missing, expired or revoked portal access token",
    "403": "The portal account may not do that",
}


def problem_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Give each error response its example, and the portal's its own words (in place)."""
    for path, _, operation in operations(document):
        portal = path.startswith(_PORTAL)
        for status, response in operation.get("responses", {}).items():
            content = response.get("content", {}).get(PROBLEM_MEDIA_TYPE)
            error = (
                (_PORTAL_EXAMPLES if portal else {}).get(status)
                or _for_operation(document, path, operation, status)
                or _EXAMPLES.get(status)
            )
            if content is None or error is None:
                continue
            if portal and status in _PORTAL_DESCRIPTIONS:
                response["description"] = _PORTAL_DESCRIPTIONS[status]
            problem = error.to_problem(instance=path).model_dump(mode="json", exclude_none=True)
            response["content"][PROBLEM_MEDIA_TYPE] = {**content, "example": problem}
    return document
