from typing import Any

from httpx import Response


def assert_problem(response: Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem with this status and, if given, an error naming ``field``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://")
    assert problem["title"] and problem["detail"]
    if field is not None:
        fields = [error["loc"][-1] for error in problem.get("errors", [])]
        assert field in fields, problem
    return problem
