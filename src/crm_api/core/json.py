"""JSON encoding for the few responses built by hand (problems, replays)."""

import json
from typing import Any


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode()
