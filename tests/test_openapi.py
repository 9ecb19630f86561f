"""The committed OpenAPI document is the contract: it must equal what the app serves."""

import json
import re
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from tests.contract import DOCUMENT, PATHS


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def test_committed_document_equals_the_served_one(app: FastAPI) -> None:
    assert app.openapi() == DOCUMENT, "run `crm-api openapi` and commit the result"


def test_every_operation_is_documented(app: FastAPI) -> None:
    document = app.openapi()
    operation_ids = [operation["operationId"] for _, _, operation in _operations(document)]
    assert len(operation_ids) == len(set(operation_ids))
    for path, method, operation in _operations(document):
        assert operation.get("summary"), f"{method} {path} has no summary"
        assert operation.get("description"), f"{method} {path} has no description"
        assert operation.get("tags"), f"{method} {path} has no tag"
        if path.startswith("/v1/"):
            for status in ("401", "403", "422", "429"):
                content = operation["responses"][status]["content"]
                assert list(content) == ["application/problem+json"], f"{method} {path} {status}"
        if "{" in path:
            assert "404" in operation["responses"], f"{method} {path} documents no 404"


async def test_the_app_serves_the_document(client: AsyncClient, app: FastAPI) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == app.openapi()


async def test_the_docs_pages_load_every_asset_from_the_service(client: AsyncClient) -> None:
    """/docs and /redoc render without internet: no script or style from a CDN."""
    for page in ("/docs", "/redoc"):
        html = await client.get(page)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 10_000, asset


def test_every_operation_that_takes_a_record_id_is_linked_from_where_the_id_is_made() -> None:
    """Clients (and the stateful fuzzer) follow links from a creation, or a list of records
    nothing creates, to every operation that takes the id; each link names a real operation
    and fills exactly that operation's path parameters, from its own face of the API."""
    operations = {op["operationId"]: (path, op) for path, _, op in _operations(DOCUMENT)}
    linked: set[str] = set()
    for path, _, operation in _operations(DOCUMENT):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target_path, target = operations[link["operationId"]]
                linked.add(link["operationId"])
                assert target_path.startswith("/v1/portal/") == path.startswith("/v1/portal/")
                parameters = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert set(link.get("parameters", {})) == parameters, (path, target_path)
                assert link.get("parameters") or link.get("requestBody"), (path, target_path)
    unlinked = [
        f"{method} {path}"
        for path, method, operation in _operations(DOCUMENT)
        if "{" in path and operation["operationId"] not in linked
    ]
    assert unlinked == []
    contact = PATHS["/v1/contacts"]["post"]["responses"]["201"]["links"]
    assert contact["get_contact"]["parameters"] == {"contact_id": "$response.body#/id"}
    assert contact["create_ticket"]["requestBody"] == {"requester_id": "$response.body#/id"}
    pipeline = PATHS["/v1/pipelines"]["post"]["responses"]["201"]["links"]
    assert pipeline["update_stage"]["parameters"] == {
        "pipeline_id": "$response.body#/id",
        "stage_id": "$response.body#/stages/0/id",
    }


def test_request_schemas_state_defaults_in_words_so_typed_clients_may_leave_them_out() -> None:
    """Generators such as openapi-typescript make a field with a `default` required; a field
    the server defaults must be optional in a typed request (see .ci/typescript)."""
    schemas = DOCUMENT["components"]["schemas"]
    contact = schemas["ContactCreate"]["properties"]["lifecycle_stage"]
    assert "default" not in contact
    assert contact["description"].endswith('Defaults to `"lead"`.')
    assert "lifecycle_stage" not in schemas["ContactCreate"].get("required", [])
    assert schemas["ContactRead"]["required"].count("lifecycle_stage") == 1
    pending = [
        ref
        for _, _, operation in _operations(DOCUMENT)
        for ref in re.findall(
            r'"#/components/schemas/([^"]+)"', json.dumps(operation.get("requestBody", {}))
        )
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        assert not [p for p, s in schemas[name].get("properties", {}).items() if "default" in s], (
            name
        )
        pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    assert "TicketCreate" in seen


def test_the_document_reads_well_for_people() -> None:
    """Tags are described, lists are bounded with maxItems, each error shows its own problem,
    and the portal's errors speak of its token, not of API keys."""
    used = {tag for _, _, operation in _operations(DOCUMENT) for tag in operation.get("tags", [])}
    described = {tag["name"]: tag.get("description") for tag in DOCUMENT["tags"]}
    assert used <= set(described)
    assert all(described.values())
    for name, schema in DOCUMENT["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if prop.get("type") == "array":
                assert "maxLength" not in prop, f"{name}.{field}"
    for path, method, operation in _operations(DOCUMENT):
        for status, response in operation["responses"].items():
            problem = response.get("content", {}).get("application/problem+json")
            if problem is None:
                continue
            assert problem["example"]["status"] == int(status), f"{method} {path} {status}"
            if path.startswith("/v1/portal/") and status == "401":
                assert "API key" not in response["description"]
                assert "API key" not in problem["example"]["detail"]


def _subclasses(base: type) -> list[type]:
    found = []
    for child in base.__subclasses__():
        found += [child, *_subclasses(child)]
    return found


def test_every_body_schema_has_an_example_that_validates() -> None:
    """Each request and response schema shows an example, valid against the schema, and a
    request's example is also accepted by the API's own model of it."""
    import jsonschema_rs

    from crm_api.core.schemas import InputSchema

    schemas = DOCUMENT["components"]["schemas"]
    bodies: set[str] = set()
    for _, _, operation in _operations(DOCUMENT):
        for content in operation.get("requestBody", {}).get("content", {}).values():
            bodies |= set(re.findall(r"#/components/schemas/([^\"]+)", json.dumps(content)))
        for response in operation["responses"].values():
            body = response.get("content", {}).get("application/json", {})
            bodies |= set(re.findall(r"#/components/schemas/([^\"]+)", json.dumps(body)))
    assert {"ContactCreate", "ContactRead", "Page_ContactRead_", "TicketCreate"} <= bodies
    models = {model.__name__: model for model in _subclasses(InputSchema)}
    for name in sorted(bodies):
        examples = schemas[name].get("examples")
        assert examples, f"{name} has no example"
        root = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
        validator = jsonschema_rs.validator_for(root)
        for example in examples:
            errors = [error.message for error in validator.iter_errors(example)]
            assert errors == [], (name, example, errors)
            if name in models:
                models[name].model_validate(example)


def test_each_operation_names_the_scopes_its_key_needs_and_its_own_problems() -> None:
    """A partner reads the least scopes a key needs from `security`, and each 403 and 404
    example is the one that operation answers."""
    assert PATHS["/v1/portal-users"]["get"]["security"] == [{"ApiKey": ["portal:read"]}]
    assert PATHS["/v1/contacts"]["post"]["security"] == [{"ApiKey": ["contacts:write"]}]
    for path, method, operation in _operations(DOCUMENT):
        scopes = next(iter(operation.get("security") or [{}])).get("ApiKey")
        forbidden = operation["responses"].get("403", {}).get("content", {})
        if scopes and forbidden:
            example = forbidden["application/problem+json"]["example"]
            assert example["missing_scope"] == scopes[0], f"{method} {path}"
    company = PATHS["/v1/companies/{company_id}"]["get"]["responses"]["404"]
    assert company["content"]["application/problem+json"]["example"]["detail"].startswith(
        "No company "
    )
