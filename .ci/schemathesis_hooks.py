"""Hooks for .ci/fuzz: every request the fuzzer sends carries an Idempotency-Key of its own.

While it explores, hypothesis runs the steps of earlier scenarios again with the values it drew
the first time, the Idempotency-Key included. The API then rightly replays the first response:
the record it created then, which a later step may have deleted since, and the stateful phase
reads that as "a resource that was just created is gone" (seen once in CI on GET
/v1/segments/{id}/count). Replays themselves are tested in the suite
(tests/core/test_idempotency.py, tests/test_secrets_at_rest.py).
"""

import uuid
from typing import Any

import schemathesis


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key":
            headers[name] = uuid.uuid4().hex
