"""An example for every schema a request or a response uses, built from the schema itself.

A field's own example wins, then its default, its first allowed value, and a value of its type
and format (a UUID, a date-time, an email, an ISO code by its pattern). Request schemas show their
required fields and those with examples of their own, so the example is a request a client could
send as it is; response schemas show every field. `tests/test_openapi.py` validates each example
against its schema, so they cannot drift from the contract.
"""

import copy
from typing import Any

from crm_api.core.openapi_walk import SCHEMA_REF, operations, schema_refs

_FORMATS: dict[str, Any] = {
    "uuid": "01a21cd0-e328-7788-ae74-05a10ed854f0",
    "date-time": "2026-11-27T09:30:00Z",
    "date": "2026-11-27",
    "time": "09:30:00",
    "email": "ada@example.com",
    "uri": "https://partner.example/hooks/crm",
    "uri-reference": "/v1/contacts/01a21cd0-e328-7788-ae74-05a10ed854f0",
    "duration": "P1D",
}
_PATTERNS: dict[str, Any] = {
    "^[A-Z]{3}$": "EUR",
    "^[A-Z]{2}$": "GB",
}


class _Builder:
    def __init__(self, schemas: dict[str, Any], *, whole: bool) -> None:
        self.schemas = schemas
        self.whole = whole  # every property (responses), or what a request needs

    def value(self, schema: dict[str, Any], name: str = "", depth: int = 0) -> Any:
        if "$ref" in schema:
            target = schema["$ref"].removeprefix(SCHEMA_REF)
            return self.value(self.schemas.get(target, {}), name, depth + 1)
        if schema.get("examples"):
            return copy.deepcopy(schema["examples"][0])
        if "example" in schema:
            return copy.deepcopy(schema["example"])
        if "default" in schema and schema["default"] is not None:
            return copy.deepcopy(schema["default"])
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [s for s in schema[key] if s.get("type") != "null"]
                return self.value(options[0], name, depth) if options else None
        if "allOf" in schema:
            return self.value(schema["allOf"][0], name, depth)
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return self.object(schema, depth)
        if kind == "array":
            if depth > 12 or schema.get("maxItems") == 0:
                return []
            return [self.value(schema.get("items", {}), name, depth + 1)]
        if kind == "string":
            return self.text(schema, name)
        if kind == "integer":
            return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "number":
            return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
        if kind == "boolean":
            return False
        return None

    def text(self, schema: dict[str, Any], name: str) -> str:
        if schema.get("format") in _FORMATS:
            return str(_FORMATS[schema["format"]])
        if schema.get("pattern") in _PATTERNS:
            return str(_PATTERNS[schema["pattern"]])
        word = name.replace("_", " ") or "text"
        return word[: max(schema.get("maxLength", 60), 1)].ljust(schema.get("minLength", 0), "x")

    def object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        if depth > 12:
            return {}
        required = set(schema.get("required", []))
        example: dict[str, Any] = {}
        for name, prop in schema.get("properties", {}).items():
            own = "examples" in prop or "example" in prop
            if self.whole or name in required or own:
                example[name] = self.value(prop, name, depth + 1)
        return example


def add_examples(document: dict[str, Any]) -> dict[str, Any]:
    """Give each schema of a request or response body an example (in place), unless it has
    one already."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    requests: set[str] = set()
    responses: set[str] = set()
    for _, _, operation in operations(document):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            requests |= schema_refs(content.get("schema", {}))
        for response in operation.get("responses", {}).values():
            json_body = response.get("content", {}).get("application/json", {})
            responses |= schema_refs(json_body.get("schema", {}))
    for names, whole in ((requests, False), (responses - requests, True)):
        builder = _Builder(schemas, whole=whole)
        for name in sorted(names):
            schema = schemas.get(name)
            if schema is not None and "examples" not in schema and "example" not in schema:
                schema["examples"] = [builder.value(schema)]
    return document
