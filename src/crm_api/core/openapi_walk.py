"""What the document's finishing passes (core.openapi_*) share: its operations, and the
component schemas a part of it refers to."""

from collections.abc import Iterator
from typing import Any

SCHEMA_REF = "#/components/schemas/"
METHODS = ("get", "put", "post", "patch", "delete")


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (path, method, operation object) of the document."""
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def schema_refs(value: Any) -> set[str]:
    """The names of the component schemas ``value`` refers to, at any depth."""
    found: set[str] = set()
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            found.add(ref.removeprefix(SCHEMA_REF))
        for item in value.values():
            found |= schema_refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= schema_refs(item)
    return found


def resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """The schema itself, or the component schema it refers to."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
        found: dict[str, Any] = document["components"]["schemas"].get(
            ref.removeprefix(SCHEMA_REF), {}
        )
        return found
    return schema
