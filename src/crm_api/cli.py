"""The ``crm-api`` command: serve, worker, migrate, healthcheck, create-workspace, import,
export, openapi."""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from crm_api.core.config import Settings, get_settings
from crm_api.core.embedded import EmbeddedPostgresError, ensure_database, start_embedded_postgres

EMBEDDED_DATABASE = "crm"

# Keeps the embedded server's handle alive for the life of the process.
_embedded_server: Any = None


def database_url(settings: Settings) -> str:
    """CRM_DATABASE_URL when set; otherwise the embedded server in the data folder, started now."""
    global _embedded_server
    if settings.database_url:
        return settings.database_url
    _embedded_server, admin_url = start_embedded_postgres(settings.data_dir / "postgres")
    url = asyncio.run(ensure_database(admin_url, EMBEDDED_DATABASE))
    return url.render_as_string(hide_password=False)


def _migrate(url: str) -> None:
    from crm_api.core.migrations import upgrade_to_head

    upgrade_to_head(url)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    from crm_api.core.logging import configure_logging

    url = database_url(settings)
    if not args.no_migrate:
        _migrate(url)
    configure_logging(settings.log_level)
    host, port = args.host or settings.host, args.port or settings.port
    if args.workers > 1:
        os.environ["CRM_DATABASE_URL"] = url
        uvicorn.run(
            "crm_api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=args.workers,
            log_config=None,
            access_log=False,
        )
        return
    from crm_api.app import create_app

    app = create_app(settings.model_copy(update={"database_url": url}))
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    from crm_api.core.db import create_engine, create_sessionmaker
    from crm_api.core.logging import configure_logging
    from crm_api.worker import run_worker

    url = database_url(settings)
    if not args.no_migrate:
        _migrate(url)
    configure_logging(settings.log_level)

    async def work() -> None:
        engine = create_engine(url, settings)
        try:
            await run_worker(create_sessionmaker(engine), settings)
        finally:
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(work())


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> None:
    _migrate(database_url(settings))
    print("Database schema is up to date.")


async def _create_workspace(
    url: str, args: argparse.Namespace, settings: Settings
) -> tuple[str, str]:
    from crm_api.core.db import create_engine, create_sessionmaker
    from crm_api.workspaces.service import create_workspace

    engine = create_engine(url, settings)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            workspace, key = await create_workspace(
                session, args.name, owner_name=args.owner_name, owner_email=args.owner_email
            )
            return str(workspace.id), key.secret
    finally:
        await engine.dispose()


def cmd_create_workspace(args: argparse.Namespace, settings: Settings) -> None:
    url = database_url(settings)
    _migrate(url)
    workspace_id, secret = asyncio.run(_create_workspace(url, args, settings))
    print(f"Workspace {args.name!r} created: {workspace_id}")
    print("Its first admin API key, shown only this once:")
    print(secret)


async def _export(url: str, args: argparse.Namespace, settings: Settings, out: BinaryIO) -> int:
    import uuid

    from sqlalchemy import func, select
    from tqdm import tqdm

    from crm_api.companies import service as companies
    from crm_api.companies.schemas import CompanyListParams, CompanyRead
    from crm_api.contacts import service as contacts
    from crm_api.contacts.schemas import ContactListParams, ContactRead, contacts_of
    from crm_api.core.auth import Principal
    from crm_api.core.db import create_engine, create_sessionmaker
    from crm_api.core.export import PAGE, encode_rows
    from crm_api.deals import service as deals
    from crm_api.deals.schemas import DealListParams, DealRead
    from crm_api.models import Company, Contact, Deal

    async def contact_page(session: Any, who: Principal, params: Any) -> Any:
        rows, cursor = await contacts.list_contacts(session, who, params)
        return contacts_of(rows), cursor

    async def company_page(session: Any, who: Principal, params: Any) -> Any:
        rows, cursor = await companies.list_companies(session, who, params)
        return [CompanyRead.of(row) for row in rows], cursor

    kinds: dict[str, tuple[Any, Any, Any, Any]] = {
        "contacts": (ContactListParams, contact_page, ContactRead, Contact),
        "companies": (CompanyListParams, company_page, CompanyRead, Company),
        "deals": (DealListParams, deals.list_deals, DealRead, Deal),
    }
    params_model, fetch, read, table = kinds[args.resource]
    who = Principal.system(uuid.UUID(args.workspace))
    params = params_model(limit=100).model_copy(update={"limit": PAGE})
    engine = create_engine(url, settings)
    sessionmaker = create_sessionmaker(engine)
    written = 0
    try:
        async with sessionmaker() as session:
            total = await session.scalar(
                select(func.count())
                .select_from(table)
                .where(table.workspace_id == who.workspace_id)
            )
            with tqdm(total=total, unit=" rows", file=sys.stderr, disable=args.quiet) as bar:
                cursor: str | None = None
                header: list[str] | None = list(read.model_fields)
                while True:
                    page, cursor = await fetch(
                        session, who, params.model_copy(update={"cursor": cursor})
                    )
                    out.write(encode_rows(page, args.format, header))
                    header = None
                    written += len(page)
                    bar.update(len(page))
                    if cursor is None:
                        break
    finally:
        await engine.dispose()
    return written


def cmd_export(args: argparse.Namespace, settings: Settings) -> None:
    url = database_url(settings)
    _migrate(url)
    with (
        open(args.output, "wb") if args.output else contextlib.nullcontext(sys.stdout.buffer) as out
    ):
        written = asyncio.run(_export(url, args, settings, out))
    print(f"exported {written} {args.resource}", file=sys.stderr)


async def _import(url: str, args: argparse.Namespace, settings: Settings, content: bytes) -> Any:
    import mimetypes
    import uuid

    from tqdm import tqdm

    from crm_api.core.auth import Principal, Scope
    from crm_api.core.db import create_engine, create_sessionmaker
    from crm_api.core.errors import CRMError
    from crm_api.imports import service
    from crm_api.imports.jobs import run_job, take

    path = Path(args.file)
    mapping = dict(item.split("=", 1) for item in args.map) if args.map else None
    engine = create_engine(url, settings)
    sessionmaker = create_sessionmaker(engine)
    # The command line acts as the service itself, with every scope.
    who = Principal(uuid.UUID(args.workspace), None, frozenset({Scope.admin}), "system")
    try:
        try:
            async with sessionmaker() as session, session.begin():
                job = await service.create_job(
                    session,
                    who,
                    resource=args.resource,
                    mode=args.mode,
                    mapping=json.dumps(mapping) if mapping else None,
                    reimport_erased=args.reimport_erased,
                    filename=path.name,
                    content_type=mimetypes.guess_type(path.name)[0],
                    content=content,
                )
                take(job, settings)
        except CRMError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error.loc[1:]))}: {error.msg}" for error in exc.errors or ()
            )
            raise SystemExit(f"crm-api import: {exc.detail} {problems}".strip()) from exc
        with tqdm(total=job.rows_total, unit=" rows", file=sys.stderr, disable=args.quiet) as bar:

            def progress(current: Any) -> None:
                bar.update(current.rows_done - bar.n)

            return await run_job(sessionmaker, settings, job, progress)
    finally:
        await engine.dispose()


def cmd_import(args: argparse.Namespace, settings: Settings) -> None:
    url = database_url(settings)
    _migrate(url)
    job = asyncio.run(_import(url, args, settings, Path(args.file).read_bytes()))
    print(
        f"import {job.id} {job.status}: {job.created} created, {job.updated} updated, "
        f"{job.unchanged} unchanged, {job.failed} failed"
        + (f" (GET /v1/imports/{job.id}/errors)" if job.failed else ""),
        file=sys.stderr,
    )
    if job.status != "succeeded":
        raise SystemExit(job.error or "the import failed")


def cmd_openapi(args: argparse.Namespace, settings: Settings) -> None:
    from crm_api.app import create_app

    document = json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False) + "\n"
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document, encoding="utf-8")
    print(f"Wrote {output}")


def cmd_healthcheck(args: argparse.Namespace, settings: Settings) -> None:
    """Exit 0 when the service on CRM_HOST / CRM_PORT answers its probe (a container's health
    check: it reads the same settings as `serve`, so the port is never written twice)."""
    import urllib.error
    import urllib.request

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}/{'readyz' if args.ready else 'healthz'}"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            healthy = response.status == 200
    except (urllib.error.URLError, OSError) as exc:
        print(f"crm-api: {url}: {exc}", file=sys.stderr)
        raise SystemExit(1) from exc
    if not healthy:
        raise SystemExit(1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_service_commands(commands)
    _add_data_commands(commands)
    return parser


Commands = Any  # argparse's subparsers action: its type is private


def _add_service_commands(commands: Commands) -> None:
    """Running the service: serve, worker, migrate, healthcheck."""
    serve = commands.add_parser("serve", help="migrate, then serve the API")
    serve.add_argument("--host", help="default: CRM_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: CRM_PORT or 8000")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    serve.set_defaults(handler=cmd_serve)
    worker = commands.add_parser(
        "worker", help="run the background worker (webhooks, SLA breaches, retention)"
    )
    worker.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    worker.set_defaults(handler=cmd_worker)
    migrate = commands.add_parser(
        "migrate",
        help="apply the database migrations (safe to run from several replicas at once)",
    )
    migrate.set_defaults(handler=cmd_migrate)
    health = commands.add_parser(
        "healthcheck", help="exit 0 if the service on CRM_HOST:CRM_PORT is alive (or --ready)"
    )
    health.add_argument("--ready", action="store_true", help="probe /readyz (the database too)")
    health.add_argument("--timeout", type=float, default=3.0, help="seconds (default 3)")
    health.set_defaults(handler=cmd_healthcheck)


def _add_data_commands(commands: Commands) -> None:
    """Working with a workspace's data: create-workspace, export, import, openapi."""
    workspace = commands.add_parser(
        "create-workspace", help="create a workspace and print its first admin API key"
    )
    workspace.add_argument("name")
    workspace.add_argument(
        "--owner-email",
        default="owner@example.com",
        help="the owner's email (an admin member; the first key acts for them)",
    )
    workspace.add_argument("--owner-name", default="Workspace owner", help="the owner's name")
    workspace.set_defaults(handler=cmd_create_workspace)
    export = commands.add_parser(
        "export", help="write a workspace's contacts, companies or deals as CSV or JSON Lines"
    )
    export.add_argument("resource", choices=("contacts", "companies", "deals"))
    export.add_argument("--workspace", required=True, help="the workspace id")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--output", help="a file (default: standard output)")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(handler=cmd_export)
    load = commands.add_parser(
        "import", help="load a CSV or JSON Lines file of contacts, companies or deals"
    )
    load.add_argument("resource", choices=("contacts", "companies", "deals"))
    load.add_argument("file", help="a .csv (with a header row) or .jsonl file")
    load.add_argument("--workspace", required=True, help="the workspace id")
    load.add_argument("--mode", choices=("create", "upsert"), default="create")
    load.add_argument(
        "--map",
        action="append",
        metavar="COLUMN=FIELD",
        help="map a column to a field (custom_fields.<key> for a custom field); repeatable; "
        "default: columns named after fields",
    )
    load.add_argument(
        "--reimport-erased", action="store_true", help="create contacts erased before"
    )
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(handler=cmd_import)
    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--output", default="openapi/openapi.json")
    openapi.set_defaults(handler=cmd_openapi)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # Exit as for Ctrl-C, through atexit: that is where the embedded PostgreSQL is stopped.
    # (uvicorn handles SIGTERM itself while serving, then raises it again for this handler.)
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        args.handler(args, get_settings())
    except EmbeddedPostgresError as exc:
        print(f"crm-api: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
