"""Hooks for .ci/fuzz: the fuzzer sends no Idempotency-Key.

While it explores, hypothesis runs the steps of earlier scenarios again with the values it drew
the first time, an Idempotency-Key included. The API then rightly replays the first response:
the record it created then, which a later step may have deleted since, and the stateful phase
reads that as "a resource that was just created is gone" (seen once in CI on GET
/v1/segments/{id}/count). The header is taken out of the document the fuzzer reads, so no
request carries one; replays are tested in the suite (tests/core/test_idempotency.py,
tests/test_secrets_at_rest.py).
"""

from typing import Any

import schemathesis


@schemathesis.hook
def before_load_schema(context: Any, raw_schema: dict[str, Any]) -> None:
    for operations in raw_schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [
                    parameter
                    for parameter in operation["parameters"]
                    if str(parameter.get("name", "")).lower() != "idempotency-key"
                ]
