"""OpenAPI links from where a record's id first appears to the operations that take it.

A client reading the document sees where a new record's id goes next (``POST /v1/contacts``
-> ``GET /v1/contacts/{contact_id}``, its timeline, its privacy export...), and a stateful
fuzzer follows the same links to reach those operations with real records instead of ids
that only ever answer 404. The links are derived from the document, so a new route gets them
without anyone writing them:

- A creation is a ``POST`` on a collection path (not ending in a parameter) that answers 201
  with a body that has an ``id``. Its id's parameter is the one that follows the collection
  in a path (``/v1/contacts`` -> ``contact_id``); every operation whose path parameters are
  that one and the creation's own (passed on from the creation's request) is linked,
  wherever its path is.
- Records created inside another (a pipeline's stages) are linked from that creation too,
  by the first item of the array named after them (``stage_id`` <- ``stages/0/id``).
- A creation also links to the creations whose body names a record of its kind (a contact's
  ``id`` becomes a new interaction's ``contact_id``, a ticket's ``requester_id``, an order
  line's ``product_id``), so records that need another one can be made from real ones.
- A record nothing creates through the API, or through its face of the API (events, webhook
  deliveries, portal users; products for the portal), is linked from the lists that show it,
  by the first item of the page, to the operations and creations that take it.

Links stay within one face of the API: the portal's operations (a customer's token) link only
to the portal's, the staff's only to the staff's.
"""

import re
from typing import Any

from crm_api.core.openapi_walk import operations as all_operations
from crm_api.core.openapi_walk import resolved as _resolved

_PARAMETER = re.compile(r"\{([^}]+)\}")
_PORTAL = "/v1/portal/"
# Body fields that name a record by another name than its id's parameter.
_ALIASES = {
    "requester_id": "contact_id",
    "assignee_id": "member_id",
    "owner_id": "member_id",
    "author_member_id": "member_id",
}

Operation = tuple[str, dict[str, Any]]  # (path, operation object)


def _parameters(path: str) -> frozenset[str]:
    return frozenset(_PARAMETER.findall(path))


def _body(document: dict[str, Any], operation: dict[str, Any], status: str) -> dict[str, Any]:
    response = operation.get("responses", {}).get(status, {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return _resolved(document, schema)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _link(
    targets: list[Operation], fixed: dict[str, str], origin: str
) -> dict[str, dict[str, Any]]:
    """A link to each target whose path parameters are exactly those ``fixed`` gives."""
    links: dict[str, dict[str, Any]] = {}
    for path, operation in targets:
        if _parameters(path) != set(fixed) or path.startswith(_PORTAL) != origin.startswith(
            _PORTAL
        ):
            continue
        links[operation["operationId"]] = {
            "operationId": operation["operationId"],
            "parameters": dict(sorted(fixed.items())),
        }
    return links


def _body_links(
    document: dict[str, Any],
    targets: list[Operation],
    id_parameter: str,
    origin: str,
    expression: str = "$response.body#/id",
) -> dict[str, dict[str, Any]]:
    """Links to the creations (no path parameters) whose body has a field for this record, at
    the top or in the items of a list of objects (an order's lines)."""
    links: dict[str, dict[str, Any]] = {}
    for path, operation in targets:
        if _parameters(path) or path.startswith(_PORTAL) != origin.startswith(_PORTAL):
            continue
        content = operation.get("requestBody", {}).get("content", {})
        body = _resolved(document, content.get("application/json", {}).get("schema", {}))
        fields: dict[str, Any] = {}
        for name, schema in body.get("properties", {}).items():
            if _ALIASES.get(name, name) == id_parameter:
                fields[name] = expression
            item = _resolved(document, schema.get("items", {}))
            if id_parameter in item.get("properties", {}):
                fields[name] = [{id_parameter: expression}]
        if fields and operation.get("operationId"):
            links[operation["operationId"]] = {
                "operationId": operation["operationId"],
                "requestBody": fields,
            }
    return links


def _merged(
    links: dict[str, dict[str, Any]], more: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Both sets of links; two to one operation become one that fills what both fill."""
    merged = dict(links)
    for name, link in more.items():
        if name in merged:
            body = {**merged[name].get("requestBody", {}), **link.get("requestBody", {})}
            merged[name] = {**merged[name], **link, **({"requestBody": body} if body else {})}
        else:
            merged[name] = link
    return merged


def _add(operation: dict[str, Any], status: str, links: dict[str, dict[str, Any]]) -> None:
    if links:
        response = operation["responses"][status]
        response["links"] = dict(sorted({**response.get("links", {}), **links}.items()))


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    """Add the links described above to ``document`` (an OpenAPI document) in place."""
    operations = list(all_operations(document))
    targets = [(path, operation) for path, _, operation in operations]
    created: set[tuple[bool, str]] = set()  # (in the portal, id parameter)
    posts = [(path, operation) for path, method, operation in operations if method == "post"]
    for collection, method, creation in operations:
        body = _body(document, creation, "201")
        if method != "post" or collection.endswith("}") or "id" not in body.get("properties", {}):
            continue
        following = {
            match.group(1)
            for path, _ in targets
            if (match := re.match(re.escape(collection) + r"/\{([^}]+)\}(/|$)", path))
        }
        if len(following) != 1:
            continue
        (id_parameter,) = following
        created.add((collection.startswith(_PORTAL), id_parameter))
        fixed = {name: f"$request.path.{name}" for name in _parameters(collection)}
        fixed[id_parameter] = "$response.body#/id"
        links = _link(targets, fixed, collection)
        for name, schema in body["properties"].items():
            item = _resolved(document, schema.get("items", {})) if name.endswith("s") else {}
            nested = f"{name.removesuffix('s')}_id"
            if "id" in item.get("properties", {}):
                created.add((collection.startswith(_PORTAL), nested))
                first = f"$response.body#/{name}/0/id"
                links |= _link(targets, {**fixed, nested: first}, collection)
                links = _merged(links, _body_links(document, posts, nested, collection, first))
        links = _merged(links, _body_links(document, posts, id_parameter, collection))
        _add(creation, "201", links)
    for path, method, listing in operations:
        items = _body(document, listing, "200").get("properties", {}).get("data", {})
        ref = items.get("items", {}).get("$ref", "")
        if method != "get" or not ref.endswith("Read"):
            continue
        id_parameter = f"{_snake(ref.rsplit('/', 1)[1].removesuffix('Read'))}_id"
        if (path.startswith(_PORTAL), id_parameter) in created:
            continue
        first = "$response.body#/data/0/id"
        _add(listing, "200", _body_links(document, posts, id_parameter, path, first))
        _add(listing, "200", _link(targets, {id_parameter: first}, path))
    return document
