"""``CRMRoute``: the unit of work around every API operation.

It opens the request's session, runs the operation, stores the response of an idempotent POST,
and commits before the response leaves, so a failed commit can never reach the client as a 2xx.
Any exception rolls everything back, the Idempotency-Key claim included. It also refuses request
bodies that are not JSON (415) before anything runs; uploads take multipart/form-data. A read
whose If-None-Match names the response's ETag answers 304 without a body; a response of one
record with a ``version`` carries it as ETag.
"""

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

# The path a route matches against, as Starlette's own routing works it out (root_path aside).
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from crm_api.core.auth import Scope
from crm_api.core.concurrency import etag, not_modified
from crm_api.core.errors import UnsupportedMediaType, problem_responses
from crm_api.core.idempotency import IdempotencyDependency, api_key_claim, store_response
from crm_api.core.rate_limit import Quota

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_READ_METHODS = frozenset({"GET", "HEAD"})
_IDEMPOTENCY_CONFLICT = problem_responses(409)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(content_type: str) -> bool:
    media_type = _media_type(content_type)
    return media_type == "application/json" or media_type.endswith("+json")


def required_scopes(dependant: Dependant) -> set[Scope]:
    """Every scope that the operation's dependencies require (see core.auth.require)."""
    scopes: set[Scope] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        scope = getattr(current.call, "required_scope", None)
        if scope is not None:
            scopes.add(scope)
        pending.extend(current.dependencies)
    return scopes


def versioned(model: Any) -> bool:
    """Whether a response model is one record with a ``version``: its ETag (see below)."""
    return (
        isinstance(model, type) and issubclass(model, BaseModel) and "version" in model.model_fields
    )


def _with_etag(response: Response) -> Response:
    """The record's version as its ETag, unless the operation set one.

    The one place an answer's ETag is made. Only the top-level ``version`` counts (a key of that
    name inside ``custom_fields`` is not the record's); orjson reads a record's body in about a
    microsecond or two per kilobyte, a sliver of any request."""
    body = getattr(response, "body", b"")  # a streamed response has none to read
    if "etag" not in response.headers and body:
        version = orjson.loads(body).get("version")
        if isinstance(version, int):
            response.headers["ETag"] = etag(version)
    return response


def _unless_not_modified(request: Request, response: Response) -> Response:
    """304 and no body when If-None-Match names the record's current version, with the headers
    the 200 would have had (ETag, RateLimit, ...) but those that describe the body."""
    tag = response.headers.get("etag")
    if tag is None or not not_modified(request.headers.get("if-none-match"), tag):
        return response
    kept = {
        name: value
        for name, value in response.headers.items()
        if name not in ("content-type", "content-length")
    }
    return Response(status_code=304, headers=kept)


class CRMRoute(APIRoute):
    @classmethod
    def idempotency_claim(cls, scopes: set[Scope]) -> IdempotencyDependency | None:
        """What claims a POST's Idempotency-Key, given the scopes the operation requires: the API
        key's claim here; portal routes scope keys to the customer, sign-in routes take none."""
        return api_key_claim(scopes)

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # Filled once FastAPI has read the operation's dependencies, before any request.
        scopes: set[Scope] = set()
        claim = self.idempotency_claim(scopes)
        if "POST" in (kwargs.get("methods") or ()) and claim is not None:
            kwargs["dependencies"] = [*(kwargs.get("dependencies") or ()), Depends(claim)]
            # An Idempotency-Key whose first request is still running, or whose response
            # showed a secret (never replayed), answers 409 on any POST.
            kwargs["responses"] = {**_IDEMPOTENCY_CONFLICT, **(kwargs.get("responses") or {})}
        super().__init__(path, endpoint, **kwargs)
        scopes.update(required_scopes(self.dependant))
        # One record with a version: every 200/201 carries it as ETag (core.concurrency).
        self.versioned = versioned(self.response_model)
        # An upload (File / Form parameters) takes multipart/form-data instead of JSON.
        self.takes_form = any(
            isinstance(param.field_info, params.Form) for param in self.dependant.body_params
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def unit_of_work(request: Request) -> Response:
            has_body = (
                request.headers.get("content-length", "0") != "0"
                or "transfer-encoding" in request.headers
            )
            if request.method in _BODY_METHODS and has_body:
                content_type = request.headers.get("content-type", "")
                if self.takes_form:
                    if _media_type(content_type) != "multipart/form-data":
                        raise UnsupportedMediaType(
                            "Send the body as multipart/form-data, not "
                            f"{content_type or 'no type'}."
                        )
                elif not _is_json(content_type):
                    raise UnsupportedMediaType(
                        f"Send the body as application/json, not {content_type or 'no type'}."
                    )
            state = request.app.state
            reading = request.method in _READ_METHODS
            sessions = state.read_sessionmaker if reading else state.sessionmaker
            # Requests take turns for the pool's connections first come, first served (see
            # create_app): SQLAlchemy's asyncio queue lets newcomers barge past woken waiters.
            async with state.session_turns, sessions() as session:
                request.state.session = session
                response = await handle(request)
                # Where the caller stands in its rate limit (errors: core.error_handlers).
                quota: Quota | None = getattr(request.state, "quota", None)
                if quota is not None:
                    response.headers.update(quota.headers())
                if self.versioned and response.status_code in (200, 201):
                    response = _with_etag(response)
                if reading and response.status_code == 200:
                    response = _unless_not_modified(request, response)
                claim = getattr(request.state, "idempotency", None)
                if claim is not None and response.status_code < 400:
                    await store_response(session, claim, response)
                # A read's statements took effect as they ran (no transaction); only ORM
                # changes it left pending, if any, still need a flush.
                if not reading or session.new or session.dirty or session.deleted:
                    await session.commit()
            return response

        return unit_of_work


def crm_router(prefix: str, tag: str, route_class: type[CRMRoute] = CRMRoute) -> APIRouter:
    """A router whose operations run in ``CRMRoute`` and document the errors all can answer."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        route_class=route_class,
        responses=problem_responses(401, 403, 422, 429),
        generate_unique_id_function=operation_id,
    )


def operation_id(route: APIRoute) -> str:
    """An operation's id in the OpenAPI document is its function's name: ``get_contact``."""
    return route.name


_HEAD_DEPTH = 2  # "/v1/contacts/..." -> ("v1", "contacts")


def _static_head(route: BaseRoute) -> tuple[str, ...]:
    """The leading path segments a route fixes (up to two): a request whose path starts
    otherwise cannot match it."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return ()
    head: list[str] = []
    for segment in path.split("/")[1 : _HEAD_DEPTH + 1]:
        if "{" in segment:
            break
        head.append(segment)
    return tuple(head)


def _request_head(path: str) -> tuple[str, ...]:
    return tuple(path.split("/", _HEAD_DEPTH + 1)[1 : _HEAD_DEPTH + 1])


class RouteIndex:
    """Starlette's routing, but each request is matched only against the routes whose fixed
    leading segments agree with its path, in their registered order.

    Starlette tries every route in turn (~200 here) and FastAPI's included routers add their own
    bookkeeping to each try; most of a read's routing time went there (docs/benchmarks.md). The
    answer is the same: the first route that fully matches, else the first partial match (405),
    else Starlette's own handling of what matched nothing (slash redirects, 404), which runs
    the full scan as before.
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.middleware_stack
        self._built_for: Sequence[BaseRoute] | None = None
        self._size = -1
        self._by_head: dict[tuple[str, ...], list[BaseRoute]] = {}
        self._loose: list[tuple[tuple[str, ...], BaseRoute]] = []

    def _candidates(self, path: str) -> list[BaseRoute]:
        routes = self.router.routes
        if routes is not self._built_for or len(routes) != self._size:
            self._build(routes)
        head = _request_head(path)
        found = self._by_head.get(head)
        if found is None:  # no route fixes these two segments: only the looser ones can match
            found = [route for prefix, route in self._loose if head[: len(prefix)] == prefix]
        return found

    def _build(self, routes: Sequence[BaseRoute]) -> None:
        heads = [(_static_head(route), route) for route in routes]
        self._loose = [(head, route) for head, route in heads if len(head) < _HEAD_DEPTH]
        by_head: dict[tuple[str, ...], list[BaseRoute]] = {}
        for head in {head for head, _ in heads if len(head) == _HEAD_DEPTH}:
            by_head[head] = [route for prefix, route in heads if head[: len(prefix)] == prefix]
        self._by_head, self._built_for, self._size = by_head, routes, len(routes)

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
            return
        scope.setdefault("router", self.router)
        partial: tuple[BaseRoute, AsgiScope] | None = None
        for route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:
            route, child_scope = partial
            scope["route"] = route
            scope.update(child_scope)
            await route.handle(scope, receive, send)
            return
        await self.fallback(scope, receive, send)


def index_routes(router: Router) -> None:
    """Route ``router``'s requests through a ``RouteIndex``."""
    router.middleware_stack = RouteIndex(router)
