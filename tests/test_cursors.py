"""Every list's cursor, for every sort it declares (read from the OpenAPI document): page 1 of
one row gives a cursor, the cursor gives page 2, and a cursor forged with a value of the wrong
type is a 422 naming it, never a 500."""

import base64
import json
import uuid
from typing import Any

from httpx import AsyncClient

from tests.contract import PATHS
from tests.factories import Workspace, make_custom_field, make_sla_policy
from tests.problems import assert_problem
from tests.test_tenancy import FACTORIES, _custom_field, _rfm_score


def _sorts() -> list[tuple[str, str]]:
    pairs = []
    for path, operations in PATHS.items():
        operation = operations.get("get")
        if not operation or "{" in path or not path.startswith("/v1/") or path.endswith("/export"):
            continue
        if path.startswith("/v1/portal/"):
            continue
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "sort":
                pairs += [(path, value) for value in parameter["schema"].get("enum", [])]
    return pairs


SORTS = _sorts()


def _forged(field: str, descending: bool, value: Any) -> str:
    raw = json.dumps([field, descending, value, str(uuid.uuid4())])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def test_every_sortable_field_of_every_list_pages_with_its_cursor(
    client: AsyncClient, workspace: Workspace
) -> None:
    assert len(SORTS) > 40, SORTS  # the lists' own declarations were read
    # Tickets get SLA clocks (sla_due_at, a sort field) from a default policy.
    await make_sla_policy(client, workspace, is_default=True)
    for factory in (*FACTORIES.values(), _rfm_score):
        await factory(client, workspace)
    # A second of everything, so that every list has a second page.
    for factory in FACTORIES.values():
        if factory is not _custom_field:  # a natural key: a second one below
            await factory(client, workspace)
    await make_custom_field(client, workspace, key="second_field")
    await _rfm_score(client, workspace)
    failures = []
    for path, sort in SORTS:
        first = await client.get(path, params={"limit": 1, "sort": sort}, headers=workspace.headers)
        cursor = first.json().get("next_cursor") if first.status_code == 200 else None
        if first.status_code != 200 or not cursor:
            failures.append((path, sort, "page 1", first.status_code, first.text[:200]))
            continue
        second = await client.get(
            path, params={"limit": 1, "sort": sort, "cursor": cursor}, headers=workspace.headers
        )
        if second.status_code != 200 or second.json()["data"] == first.json()["data"]:
            failures.append((path, sort, "page 2", second.status_code, second.text[:200]))
        field = sort.removeprefix("-")
        for wrong in ({"an": "object"}, [1, 2], "not-a-value", 10**30, True):
            forged = await client.get(
                path,
                params={"limit": 1, "sort": sort, "cursor": _forged(field, sort[0] == "-", wrong)},
                headers=workspace.headers,
            )
            if forged.status_code not in {200, 422}:
                failures.append((path, sort, f"cursor {wrong!r}", forged.status_code, ""))
            elif forged.status_code == 422:
                assert_problem(forged, 422, field="cursor")
    assert not failures, failures
