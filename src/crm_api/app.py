"""create_app(): routers, error handlers, middleware, lifespan; nothing else."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from crm_api.api_keys.repository import load_stored_key
from crm_api.api_keys.router import router as api_keys_router
from crm_api.audit.router import router as audit_router
from crm_api.companies.router import router as companies_router
from crm_api.consents.router import router as consents_router
from crm_api.contacts.router import router as contacts_router
from crm_api.core.auth import SECURITY_SCHEME
from crm_api.core.config import Settings, get_settings
from crm_api.core.db import create_engine, create_read_sessionmaker, create_sessionmaker
from crm_api.core.error_handlers import install_error_handlers
from crm_api.core.errors import PROBLEM_MEDIA_TYPE
from crm_api.core.idempotency import IdempotentReplay
from crm_api.core.middleware import BodySizeLimitMiddleware, MetricsMiddleware
from crm_api.core.openapi_descriptions import describe_operations
from crm_api.core.openapi_examples import add_examples
from crm_api.core.openapi_headers import declare_headers
from crm_api.core.openapi_inputs import describe_request_defaults
from crm_api.core.openapi_links import add_links
from crm_api.core.openapi_problems import problem_examples
from crm_api.core.rate_limit import RateLimiter
from crm_api.core.routing import index_routes, operation_id, required_scopes
from crm_api.custom_fields.router import router as custom_fields_router
from crm_api.deals.router import router as deals_router
from crm_api.events.router import router as events_router
from crm_api.hygiene.router import router as hygiene_router
from crm_api.imports.router import router as imports_router
from crm_api.interactions.router import router as interactions_router
from crm_api.kpis.router import router as kpis_router
from crm_api.lead_scoring.router import router as lead_scoring_router
from crm_api.members.router import router as members_router
from crm_api.ops.router import router as ops_router
from crm_api.orders.router import router as orders_router
from crm_api.pipelines.router import router as pipelines_router
from crm_api.portal.accounts import SignInLimits
from crm_api.portal.auth import SECURITY_SCHEME as PORTAL_SECURITY_SCHEME
from crm_api.portal.cors import PortalCORSMiddleware
from crm_api.portal.router import portal_router
from crm_api.portal.sign_in_router import sign_in_router
from crm_api.portal.staff_router import staff_router
from crm_api.privacy.router import router as privacy_router
from crm_api.products.router import router as products_router
from crm_api.rfm.router import router as rfm_router
from crm_api.segments.router import router as segments_router
from crm_api.sla_policies.router import router as sla_policies_router
from crm_api.surveys.router import router as surveys_router
from crm_api.tags import TAGS
from crm_api.tasks.router import router as tasks_router
from crm_api.tickets.router import router as tickets_router
from crm_api.timeline.router import router as timeline_router
from crm_api.webhooks.router import deliveries_router as webhook_deliveries_router
from crm_api.webhooks.router import router as webhook_endpoints_router
from crm_api.workspaces.router import router as workspace_router

ROUTERS = (
    ops_router,
    hygiene_router,
    imports_router,
    workspace_router,
    members_router,
    api_keys_router,
    custom_fields_router,
    contacts_router,
    consents_router,
    privacy_router,
    companies_router,
    pipelines_router,
    deals_router,
    interactions_router,
    tasks_router,
    tickets_router,
    sla_policies_router,
    surveys_router,
    products_router,
    orders_router,
    kpis_router,
    rfm_router,
    segments_router,
    lead_scoring_router,
    timeline_router,
    events_router,
    audit_router,
    webhook_endpoints_router,
    webhook_deliveries_router,
    staff_router,
    sign_in_router,
    portal_router,
)


def _request_id_is_acceptable(value: str) -> bool:
    return 0 < len(value) <= 200 and value.isascii() and value.isprintable()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.database_url is None:
        raise RuntimeError(
            "CRM_DATABASE_URL is not set; `crm-api serve` starts an embedded server."
        )
    engine = create_engine(settings.database_url, settings)
    app.state.engine = engine
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.read_sessionmaker = create_read_sessionmaker(engine)
    # The OpenAPI document costs seconds of CPU to build (192 operations); built now, before the
    # service answers /readyz, its first reader is not the one who waits (or times out).
    app.openapi()
    # What exists once the app is up lives as long as the process: keep it out of the
    # collector's full passes. Under load those otherwise ran every second or two and walked all
    # of it, 130-190 ms each with every request waiting (measured; docs/benchmarks.md).
    gc.collect()
    gc.freeze()
    worker = None
    if settings.run_worker:
        from crm_api.worker import run_worker

        worker = asyncio.create_task(run_worker(app.state.sessionmaker, settings))
    try:
        yield
    finally:
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        await engine.dispose()


def _document(schema: dict[str, Any], scopes: dict[str, list[str]]) -> dict[str, Any]:
    """Error responses are documented as application/problem+json, as they are served, every
    /v1 operation as needing an API key, or under /v1/portal a portal token (none to sign in),
    each creation links to the operations that take the created record's id, and request
    schemas state their defaults in words (core.openapi_inputs), the headers every response
    carries are declared (core.openapi_headers), each error shows its real problem
    (core.openapi_problems), and every operation has a description (core.openapi_descriptions)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["ApiKey"] = SECURITY_SCHEME
    schemes["PortalToken"] = PORTAL_SECURITY_SCHEME
    sign_in = {route.path for route in sign_in_router.routes if isinstance(route, APIRoute)}
    for path_name, path in schema.get("paths", {}).items():
        for operation in path.values():
            if path_name in sign_in:
                operation["security"] = []
            elif path_name.startswith("/v1/portal/"):
                operation["security"] = [{"PortalToken": []}]
            elif path_name.startswith("/v1/"):
                # The scopes the key needs (OpenAPI 3.1 lets any scheme list them); admin has all.
                operation["security"] = [{"ApiKey": scopes.get(operation["operationId"], [])}]
            for status_code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status_code[0] in "45" and "application/json" in content:
                    content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    schema = add_examples(declare_headers(describe_request_defaults(schema)))
    return describe_operations(add_links(problem_examples(schema)))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # FastAPI with /docs and /redoc whose scripts and styles come from the installed
    # fastapi-offline package: they render without internet, and load no third-party code.
    app = FastAPIOffline(
        title="crm-api",
        version="0.1.0",
        summary="An API-first CRM: contacts, companies and the whole customer relationship.",
        lifespan=_lifespan,
        generate_unique_id_function=operation_id,
        openapi_tags=TAGS,
        # Off unless asked for: FastAPI checks for OpenTelemetry providers on every request.
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    _share(app, settings)
    # Each router's operations join the app's own table as they are (their paths, tags and
    # responses are complete): FastAPI's included-router layer re-checks every router's routes
    # on each request. The index then tries only the routes a path can match.
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
    index_routes(app.router)
    install_error_handlers(app)

    async def on_replay(_: Any, exc: Exception) -> Any:
        assert isinstance(exc, IdempotentReplay)
        return exc.to_response()

    app.add_exception_handler(IdempotentReplay, on_replay)
    _add_middleware(app, settings)
    _document_once(app)
    return app


def _share(app: FastAPI, settings: Settings) -> None:
    """What every request reaches through ``app.state``."""
    app.state.settings = settings
    # How core.auth reads an API key it has not cached.
    app.state.load_stored_key = load_stored_key
    # One request session holds one pool connection; those waiting for one queue here in order.
    app.state.session_turns = asyncio.Semaphore(settings.db_pool_size)
    app.state.rate_limiter = RateLimiter(settings.rate_limit, settings.rate_limit_storage)
    app.state.portal_rate_limiter = RateLimiter(
        settings.rate_limit,
        settings.rate_limit_storage,
        subject="this portal account",
        policy="portal-account",
    )
    app.state.sign_in_limits = SignInLimits(settings)


def _add_middleware(app: FastAPI, settings: Settings) -> None:
    """Outermost last: the request id, CORS for the portal, metrics and the access line, then
    the body size limit."""
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger={"/v1/imports": settings.max_import_bytes},
    )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(PortalCORSMiddleware)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name="X-Request-ID",
        validator=_request_id_is_acceptable,
    )


def _document_once(app: FastAPI) -> None:
    """The OpenAPI document FastAPI builds, finished by _document, built on first use."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            scopes = {
                route.name: sorted(scope.value for scope in required_scopes(route.dependant))
                for router in ROUTERS
                for route in router.routes
                if isinstance(route, APIRoute)
            }
            app.openapi_schema = _document(default_openapi(), scopes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
