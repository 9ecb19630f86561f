"""Run the HTTP benchmark: `python -m bench.run` (see docs/benchmarks.md for what it measures).

Seeds the data once (kept in .crm-data/bench), then for each worker count starts crm-api and the
floor app under the same uvicorn settings and drives every scenario with wrk over loopback.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import seed
from bench.report import write_report
from crm_api.contacts.repository import SORTABLE
from crm_api.core.db import libpq_url, sqlalchemy_url
from crm_api.core.embedded import drop_database, ensure_database, start_embedded_postgres
from crm_api.core.migrations import upgrade_to_head
from crm_api.core.pagination import Sort, encode_cursor

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "wrk"
WORK = ROOT / ".crm-data" / "bench"
DATABASE = "crm_bench"


@dataclass(frozen=True)
class Scenario:
    name: str
    script: str
    path: str = ""
    floor_path: str | None = None  # the floor app answers the same query at this path
    ids: str = "ids.txt"  # the ids get_by_id.lua draws from, in WORK


@dataclass
class Result:
    scenario: str
    target: str  # "crm-api" or "floor"
    workers: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


@dataclass
class Summary(Result):
    p99_worst_ms: float
    rounds: int


def summarize(rounds: list[Result]) -> list[Summary]:
    """One row per scenario, target and worker count: each figure the median of its rounds
    (non-2xx and errors summed), with the worst round's p99 kept in ``p99_worst_ms``."""
    groups: dict[tuple[str, str, int], list[Result]] = {}
    for result in rounds:
        groups.setdefault((result.scenario, result.target, result.workers), []).append(result)
    return [
        Summary(
            scenario=scenario,
            target=target,
            workers=workers,
            rps=statistics.median(r.rps for r in measured),
            p50_ms=statistics.median(r.p50_ms for r in measured),
            p95_ms=statistics.median(r.p95_ms for r in measured),
            p99_ms=statistics.median(r.p99_ms for r in measured),
            non_2xx=sum(r.non_2xx for r in measured),
            errors=sum(r.errors for r in measured),
            p99_worst_ms=max(r.p99_ms for r in measured),
            rounds=len(measured),
        )
        for (scenario, target, workers), measured in groups.items()
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready")


@contextmanager
def _process(command: list[str], env: dict[str, str], ready_url: str, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
        try:
            _wait_ready(ready_url)
            yield
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wrk(
    scenario: Scenario, port: int, env: dict[str, str], args: argparse.Namespace
) -> dict[str, float]:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA / scenario.script),
        f"http://127.0.0.1:{port}",
    ]
    output = subprocess.run(
        command, env=env, capture_output=True, text=True, check=True, timeout=args.seconds + 60
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("BENCH "))
    parsed: dict[str, float] = json.loads(line.removeprefix("BENCH "))
    return parsed


async def _prepare(url: str, workspace_id: str, work: Path) -> dict[str, str]:
    """Id files for wrk, and the cursors of a page deep into the list."""
    connection = await asyncpg.connect(libpq_url(url))
    try:
        sample = await connection.fetch(
            "SELECT id FROM contacts TABLESAMPLE SYSTEM (2) WHERE workspace_id = $1 LIMIT 20000",
            workspace_id,
        )
        companies = await connection.fetch(
            "SELECT id FROM companies TABLESAMPLE SYSTEM (20) WHERE workspace_id = $1 LIMIT 20000",
            workspace_id,
        )
        deals = await connection.fetch(
            "SELECT id FROM deals TABLESAMPLE SYSTEM (10) WHERE workspace_id = $1 LIMIT 20000",
            workspace_id,
        )
        if not await connection.fetchval("SELECT EXISTS (SELECT FROM tickets)"):
            # Tickets and orders to read by id, as the KPI benchmark seeds them.
            from bench.kpis import _copy_orders, _copy_tickets

            await _copy_orders(connection, uuid.UUID(workspace_id), 100_000)
            await _copy_tickets(connection, uuid.UUID(workspace_id), 100_000)
            await connection.execute("ANALYZE orders, order_lines, tickets")
        tickets = await connection.fetch(
            "SELECT id FROM tickets TABLESAMPLE SYSTEM (20) WHERE workspace_id = $1 LIMIT 20000",
            workspace_id,
        )
        orders = await connection.fetch(
            "SELECT id FROM orders TABLESAMPLE SYSTEM (20) WHERE workspace_id = $1 LIMIT 20000",
            workspace_id,
        )
        fresh = await connection.fetch(
            "SELECT id FROM contacts WHERE workspace_id = $1 AND version = 1 LIMIT 200000",
            workspace_id,
        )
        deep = await connection.fetchrow(
            "SELECT created_at, id FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL "
            "ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1",
            workspace_id,
            int(await connection.fetchval("SELECT count(*) FROM contacts") * 0.9),
        )
    finally:
        await connection.close()
    (work / "ids.txt").write_text("\n".join(str(row["id"]) for row in sample) + "\n")
    (work / "company_ids.txt").write_text("\n".join(str(row["id"]) for row in companies) + "\n")
    (work / "deal_ids.txt").write_text("\n".join(str(row["id"]) for row in deals) + "\n")
    (work / "ticket_ids.txt").write_text("\n".join(str(row["id"]) for row in tickets) + "\n")
    (work / "order_ids.txt").write_text("\n".join(str(row["id"]) for row in orders) + "\n")
    (work / "patch_ids.txt").write_text("\n".join(str(row["id"]) for row in fresh) + "\n")
    sort = Sort(field="created_at", column=SORTABLE["created_at"], descending=True)
    return {
        "cursor": encode_cursor(sort, deep["created_at"], deep["id"]),
        "floor_after": f"{deep['created_at'].isoformat()}|{deep['id']}".replace("+", "%2B"),
    }


def _scenarios(deep: dict[str, str], busy_contact: str, timeline_length: int) -> list[Scenario]:
    return [
        Scenario("get by id", "get_by_id.lua", "/v1/contacts/", "/v1/contacts/"),
        Scenario("get company by id", "get_by_id.lua", "/v1/companies/", ids="company_ids.txt"),
        Scenario("get deal by id", "get_by_id.lua", "/v1/deals/", ids="deal_ids.txt"),
        Scenario("get ticket by id", "get_by_id.lua", "/v1/tickets/", ids="ticket_ids.txt"),
        Scenario("get order by id", "get_by_id.lua", "/v1/orders/", ids="order_ids.txt"),
        Scenario(
            "list, first page", "get_path.lua", "/v1/contacts?limit=25", "/v1/contacts?limit=25"
        ),
        Scenario(
            "list, deep page",
            "get_path.lua",
            f"/v1/contacts?limit=25&cursor={deep['cursor']}",
            f"/v1/contacts?limit=25&after={deep['floor_after']}",
        ),
        Scenario("search q=", "get_path.lua", "/v1/contacts?q=lovelace1234"),
        Scenario(
            "filter stage + industry",
            "get_path.lua",
            "/v1/contacts?lifecycle_stage=customer&company_industry=software",
        ),
        Scenario("create", "create.lua", floor_path="/v1/contacts"),
        Scenario("list deals, open stages", "get_path.lua", "/v1/deals?stage_kind=open"),
        Scenario(
            f"timeline, contact with {timeline_length:,} entries",
            "get_path.lua",
            f"/v1/contacts/{busy_contact}/timeline",
        ),
        Scenario(
            "patch with If-Match", "patch.lua", floor_path="/v1/contacts", ids="patch_ids.txt"
        ),
    ]


def _database(args: argparse.Namespace) -> tuple[str, object]:
    if args.database_url:
        return args.database_url, None
    server, admin_url = start_embedded_postgres(WORK / "postgres", cleanup_mode="stop")
    return admin_url, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: embedded)")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--interactions", type=int, default=400_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument(
        "--rounds", type=int, default=3, help="measured rounds per target, interleaved (median)"
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        metavar="CRM_X=VALUE",
        help="also run crm-api with these settings, as a target of its own (an A/B in one run)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only scenarios whose name has one of these"
    )
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install -y wrk")

    WORK.mkdir(parents=True, exist_ok=True)
    admin_url, _server = _database(args)
    state = WORK / "state.json"
    seeded = seed.load(state) if state.exists() and not args.reseed else None
    wanted = (args.contacts, args.companies, args.deals, args.interactions)
    if (
        seeded is None
        or (seeded.contacts, seeded.companies, seeded.deals, seeded.interactions) != wanted
    ):
        started = time.monotonic()
        asyncio.run(drop_database(admin_url, DATABASE))
        seeded = asyncio.run(
            seed.seed(
                asyncio.run(ensure_database(admin_url, DATABASE)),
                contacts=args.contacts,
                companies=args.companies,
                deals=args.deals,
                interactions=args.interactions,
            )
        )
        seed.save(seeded, state)
        print(f"seeded in {time.monotonic() - started:.0f} s")
    url = seeded.database_url
    upgrade_to_head(url)  # data seeded by an earlier run, under the schema this commit has
    deep = asyncio.run(_prepare(url, seeded.workspace_id, WORK))

    python_bin = Path(sys.executable).parent
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    measured_rounds: list[Result] = []
    started_at = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
    for workers in args.workers:
        port, floor_port = _free_port(), _free_port()
        service_env = {
            **base_env,
            "CRM_DATABASE_URL": url,
            "CRM_RATE_LIMIT": "1000000000/minute",
        }
        floor_env = {
            **base_env,
            "BENCH_DATABASE_URL": libpq_url(sqlalchemy_url(url)),
            "BENCH_WORKSPACE_ID": seeded.workspace_id,
        }
        uvicorn_flags = ["--workers", str(workers), "--no-access-log", "--log-level", "warning"]
        service = [
            str(python_bin / "crm-api"),
            "serve",
            "--no-migrate",
            "--workers",
            str(workers),
            "--port",
            str(port),
        ]
        floor = [
            str(python_bin / "uvicorn"),
            "bench.floor_app:app",
            "--port",
            str(floor_port),
            *uvicorn_flags,
        ]
        wrk_env = {
            **base_env,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_THREADS": str(args.threads),
        }
        with contextlib.ExitStack() as services:
            services.enter_context(
                _process(
                    service, service_env, f"http://127.0.0.1:{port}/readyz", WORK / "service.log"
                )
            )
            services.enter_context(
                _process(
                    floor,
                    {**floor_env, "PYTHONPATH": str(ROOT)},
                    f"http://127.0.0.1:{floor_port}/v1/contacts?limit=1",
                    WORK / "floor.log",
                )
            )
            compared = []
            if args.compare:
                compare_port = _free_port()
                overrides = dict(setting.split("=", 1) for setting in args.compare)
                services.enter_context(
                    _process(
                        [*service[:-1], str(compare_port)],
                        {**service_env, **overrides},
                        f"http://127.0.0.1:{compare_port}/readyz",
                        WORK / "compared.log",
                    )
                )
                compared = [(f"crm-api {' '.join(args.compare)}", compare_port)]
            for scenario in _scenarios(deep, seeded.busy_contact_id, seeded.interactions // 2):
                if args.only and not any(part in scenario.name for part in args.only):
                    continue
                targets = [("crm-api", port, scenario.path, seeded.api_key)]
                targets += [
                    (name, compare_port, scenario.path, seeded.api_key)
                    for name, compare_port in compared
                ]
                if scenario.floor_path is not None:
                    targets.append(("floor", floor_port, scenario.floor_path, ""))
                for round_number in range(args.rounds):
                    for target, target_port, path, key in targets:
                        env = {
                            **wrk_env,
                            "BENCH_PATH": path,
                            "BENCH_KEY": key,
                            "BENCH_IDS": str(WORK / scenario.ids),
                        }
                        if scenario.script == "patch.lua":
                            asyncio.run(_prepare(url, seeded.workspace_id, WORK))
                        if args.warmup and round_number == 0 and scenario.script != "patch.lua":
                            warm = argparse.Namespace(**{**vars(args), "seconds": args.warmup})
                            warm_env = {**env, "BENCH_RUN": f"w{time.time_ns()}"}
                            _wrk(scenario, target_port, warm_env, warm)
                        env["BENCH_RUN"] = f"m{time.time_ns()}"
                        measured = _wrk(scenario, target_port, env, args)
                        result = Result(
                            scenario=scenario.name,
                            target=target,
                            workers=workers,
                            rps=measured["rps"],
                            p50_ms=measured["p50_ms"],
                            p95_ms=measured["p95_ms"],
                            p99_ms=measured["p99_ms"],
                            non_2xx=int(measured["non_2xx"]),
                            errors=int(measured["errors"]),
                        )
                        # Targets take turns round by round, so a slow spell of this shared
                        # machine hits all of them; the report gives each figure's median.
                        measured_rounds.append(result)
                        print(result, flush=True)
    (WORK / "results.json").write_text(  # for `python -m bench.report`
        json.dumps(
            {
                "args": vars(args),
                "measured_at": started_at,
                "rounds": [asdict(r) for r in measured_rounds],
            },
            indent=2,
        )
    )
    write_report(summarize(measured_rounds), args, Path(args.output), started_at)


if __name__ == "__main__":
    main()
