"""A description for every operation that has none of its own, from what the document shows.

The conventions an operation follows (paging, ETag and If-Match, 304, idempotent POSTs,
archiving, 404 across workspaces) are the same everywhere, so a reader should not have to know
the README to learn them: each operation's description says those that apply to it, worded from
its method, path, parameters and responses. An operation that says more keeps its own words.
"""

import re
from typing import Any

from crm_api.core.openapi_walk import operations


def _noun(path: str) -> str:
    """The record a path is about: /v1/sla-policies/{id} -> "SLA policy"."""
    segments = [s for s in path.split("/") if s and not s.startswith("{") and s != "v1"]
    word = segments[-1] if segments else "record"
    if path.rstrip("/").split("/")[-1] in ("archive", "restore") and len(segments) > 1:
        word = segments[-2]
    word = re.sub(r"ies$", "y", word)
    word = re.sub(r"(?<!s)s$", "", word)
    return word.replace("-", " ").replace("sla ", "SLA ").replace("api key", "API key")


def owner_noun(path: str) -> str:
    """The record the path's last id names: /v1/tickets/{ticket_id}/messages -> "ticket"."""
    found = re.search(r"([^/{}]+)/\{[^/]+\}(?!.*\{)", path)
    return _noun(f"/{found.group(1)}") if found else _noun(path)


def _parameters(operation: dict[str, Any], where: str) -> list[str]:
    return [p["name"] for p in operation.get("parameters", []) if p.get("in") == where]


def _sentences(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    noun = _noun(path)
    responses = operation.get("responses", {})
    headers = {name for r in responses.values() for name in r.get("headers", {})}
    query = [name for name in _parameters(operation, "query") if name not in ("limit", "cursor")]
    pages = "cursor" in _parameters(operation, "query")
    last = path.rstrip("/").split("/")[-1]
    said: list[str] = []
    if method == "get" and pages:
        said.append(
            "A page of at most `limit` records (1 to 100, default 25), in `sort` order where "
            "there is one; follow `next_cursor` until it is null."
        )
        filters = [name for name in query if name != "sort"]
        if filters:
            said.append("Filters: " + ", ".join(f"`{name}`" for name in filters) + ".")
    elif method == "get" and "304" in responses:
        which = f"The {noun} with this id" if "{" in path else "The record"
        said.append(
            f"{which}, with its version as `ETag`; `If-None-Match` with that ETag answers 304 "
            "Not Modified while it is unchanged."
        )
    elif method == "post" and "201" in responses and "Location" in headers:
        said.append(
            f"Creates the {noun} and answers 201 with it, its URL in `Location` and its "
            "version as `ETag`. Fields the server defaults may be left out (each says its default)."
        )
    elif method == "patch":
        said.append(
            f"Changes only the fields sent and answers with the whole {noun}; the others keep "
            "their values."
        )
    elif method == "delete":
        said.append(f"Deletes the {noun}; answers 204 with no body.")
    elif last == "archive":
        said.append(
            f"Archives the {noun}: it leaves the lists (which show it with `archived=true`) and "
            "can be restored; answers with the record."
        )
    elif last == "restore":
        said.append(f"Brings an archived {noun} back into the lists; answers with the record.")
    if "If-Match" in _parameters(operation, "header"):
        said.append(
            "Send the `ETag` you read as `If-Match`: a change to a version that is no longer "
            "current is a 412 (a workspace may require If-Match: 428 without it)."
        )
    if method == "post" and "Idempotency-Key" in _parameters(operation, "header"):
        said.append(
            "With an `Idempotency-Key`, a retry of the same request answers as the first did, "
            "without doing it twice."
        )
    if "{" in path and "404" in responses:
        said.append(f"404 when there is no such {owner_noun(path)} in the workspace.")
    if {"PortalToken": []} in operation.get("security", []):
        said.append("Takes the signed-in customer's portal access token and shows only theirs.")
    return said


def describe_operations(document: dict[str, Any]) -> dict[str, Any]:
    """Give each operation without a description one, as above (in place)."""
    for path, method, operation in operations(document):
        if operation.get("description"):
            continue
        summary = operation.get("summary", "").rstrip(".")
        said = _sentences(path, method, operation)
        operation["description"] = " ".join([f"{summary}.", *said]) if summary else " ".join(said)
    return document
