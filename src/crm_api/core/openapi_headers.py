"""The response headers and conditional reads every operation has, declared in the document.

They are added where the document itself shows they apply, the same rules the service follows
at run time (core.routing), so the two cannot drift:

- a response of one record with a ``version`` carries it as ``ETag``; a read of one takes
  ``If-None-Match`` and answers 304 when it names the current version;
- a creation (a 201 of a ``POST`` on a collection whose records can be read by id, or of its
  upsert) gives the new record's URL in ``Location``;
- a 429 says in ``Retry-After`` how many seconds to wait;
- an answer to a caller with a rate limit (an API key, a portal account) says where it stands
  in ``RateLimit-Policy`` and ``RateLimit`` (core.rate_limit); not on a 401, or on an error
  found before the caller was known.
"""

import re
from typing import Any

from crm_api.core.openapi_walk import operations, resolved

ETAG = {
    "description": 'The record\'s version, quoted (`"3"`): send it back in `If-Match` to change '
    "the record only if nobody changed it meanwhile, or in `If-None-Match` to read it only if "
    "it changed.",
    "required": True,
    "schema": {"type": "string", "examples": ['"3"']},
}
LOCATION = {
    "description": "The new record's URL.",
    "required": True,
    "schema": {"type": "string", "format": "uri-reference", "examples": ["/v1/contacts/{id}"]},
}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "examples": [30]},
}
RATE_LIMIT_POLICY = {
    "description": "The caller's quota and its window in seconds (draft-ietf-httpapi-"
    'ratelimit-headers): `"api-key";q=6000;w=60`, or `"portal-account";...` for a portal token.',
    "required": False,
    "schema": {"type": "string", "examples": ['"api-key";q=6000;w=60']},
}
RATE_LIMIT = {
    "description": "Requests left in the current window, and seconds until it resets: "
    '`"api-key";r=5999;t=42`.',
    "required": False,
    "schema": {"type": "string", "examples": ['"api-key";r=5999;t=42']},
}
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "The ETag of the copy you hold: the answer is 304 Not Modified, with no "
    "body, while it is still the current version.",
    "schema": {"type": "string"},
}
NOT_MODIFIED = {
    "description": "Not modified: `If-None-Match` names the current version.",
    "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
}


def _schema(document: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return resolved(document, schema) if isinstance(schema, dict) else {}


def _headers(response: dict[str, Any], **headers: dict[str, Any]) -> None:
    response["headers"] = {**response.get("headers", {}), **headers}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def declare_headers(document: dict[str, Any]) -> dict[str, Any]:
    """Declare the headers described above in ``document`` (in place), each defined once under
    ``components/headers``."""
    document.setdefault("components", {})["headers"] = {
        "ETag": ETAG,
        "Location": LOCATION,
        "Retry-After": RETRY_AFTER,
        "RateLimit-Policy": RATE_LIMIT_POLICY,
        "RateLimit": RATE_LIMIT,
    }
    paths: dict[str, Any] = document.get("paths", {})
    # Collections whose records are read by id, and their upserts (which may create one).
    readable = {
        re.sub(r"/\{[^}]+\}$", "", path)
        for path, item in paths.items()
        if "get" in item and path.endswith("}")
    }
    readable |= {f"{collection}/upsert" for collection in readable}
    for path, method, operation in operations(document):
        responses = operation.get("responses", {})
        versioned = False
        for status in ("200", "201"):
            if status in responses and "version" in _schema(document, responses[status]).get(
                "properties", {}
            ):
                _headers(responses[status], ETag=_ref("ETag"))
                versioned = True
        if "201" in responses and method == "post" and path in readable:
            _headers(responses["201"], Location=_ref("Location"))
        if "429" in responses:
            _headers(responses["429"], **{"Retry-After": _ref("Retry-After")})
        if operation.get("security"):
            for status, response in responses.items():
                if status not in ("304", "401"):
                    _headers(
                        response,
                        **{"RateLimit-Policy": _ref("RateLimit-Policy")},
                        RateLimit=_ref("RateLimit"),
                    )
        if versioned and method == "get":
            operation["parameters"] = [*operation.get("parameters", []), IF_NONE_MATCH]
            responses["304"] = NOT_MODIFIED
    return document
