"""Request schemas whose defaulted fields stay optional in generated client types.

A field with a server default may be left out of a request. JSON Schema says so by leaving it
out of ``required``, which Pydantic does; but code generators read ``default`` as "always
present" (openapi-typescript 7 turns every field with a ``default`` into a required property),
so ``POST /v1/contacts`` with just a name and an email would not compile in a typed client.
A schema that only requests use therefore states its defaults in words ("Defaults to
`lead`.") instead of with ``default``; response schemas keep ``default``, where it is true
that the field is always there.
"""

import json
from collections.abc import Iterable
from typing import Any

from crm_api.core.openapi_walk import operations, schema_refs


def _reachable(schemas: dict[str, Any], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        pending.extend(schema_refs(schemas[name]))
    return seen


def _sentence(value: Any) -> str:
    return f"Defaults to `{json.dumps(value, ensure_ascii=False)}`."


def describe_request_defaults(document: dict[str, Any]) -> dict[str, Any]:
    """Move ``default`` into the description in schemas that only requests use (in place)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    responses: set[str] = set()
    for _, _, operation in operations(document):
        requests |= schema_refs(operation.get("requestBody", {}))
        responses |= schema_refs(operation.get("responses", {}))
    only_requests = _reachable(schemas, requests) - _reachable(schemas, responses)
    for name in sorted(only_requests):
        for prop in schemas[name].get("properties", {}).values():
            if "default" not in prop:
                continue
            default = prop.pop("default")
            described = prop.get("description", "").rstrip()
            prop["description"] = f"{described} {_sentence(default)}".strip()
    return document
