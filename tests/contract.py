"""The committed OpenAPI document, read once, for the tests that walk every operation.

Building the document from the app costs seconds of CPU; reading the committed one costs
milliseconds, so test modules can parametrize from it at collection. tests/test_openapi.py fails
whenever it differs from what the app serves, so walking it is walking the app.
"""

import json
from pathlib import Path
from typing import Any

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"
DOCUMENT: dict[str, Any] = json.loads(COMMITTED.read_text(encoding="utf-8"))
PATHS: dict[str, dict[str, Any]] = DOCUMENT["paths"]
