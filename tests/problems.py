from typing import Any

from httpx import Response


def assert_problem(response: Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status and, if given, an error naming ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["title"]
    assert problem["detail"]
    if field is not None:
        assert any(field in error["loc"] for error in problem.get("errors", [])), problem
    return problem
