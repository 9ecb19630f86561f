"""Import benchmark: `python -m bench.imports` (results in docs/import-benchmarks.md).

Builds a CSV of contacts (email, names, a phone, tags, a lifecycle stage, a custom field),
starts `crm-api serve` with its in-process worker on a fresh database, uploads the file over
HTTP and polls the job until it ends; then uploads the same people again as an upsert that
changes every row. Reports rows per second for each, from the job's own start and finish times
(the worker's load, without the upload) and from upload to the end.
"""

import argparse
import asyncio
import csv
import io
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench.run import ROOT, WORK, _database, _free_port, _process
from crm_api.core.config import Settings
from crm_api.core.db import create_engine, create_sessionmaker
from crm_api.core.embedded import drop_database, ensure_database
from crm_api.core.migrations import upgrade_to_head
from crm_api.workspaces.service import create_workspace

DATABASE = "crm_bench_imports"
STAGES = ["subscriber", "lead", "marketing_qualified", "customer"]


def build_csv(rows: int, *, revision: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["email", "first_name", "last_name", "phones", "tags", "lifecycle_stage", "plan"]
    )
    for n in range(rows):
        writer.writerow(
            [
                f"person{n}@example{n % 97}.com",
                f"First{n}",
                f"Last{n}-{revision}",
                f"+44 20 7946 {n % 10000:04d}" if n % 3 == 0 else "",
                "vip;newsletter" if n % 10 == 0 else "newsletter",
                STAGES[(n + revision) % len(STAGES)],
                ["free", "pro", "enterprise"][(n + revision) % 3],
            ]
        )
    return buffer.getvalue().encode()


async def prepare(admin_url: str) -> tuple[str, str]:
    """A fresh database with one workspace and its select custom field; (url, API key)."""
    await drop_database(admin_url, DATABASE)
    url = await ensure_database(admin_url, DATABASE)
    await asyncio.to_thread(upgrade_to_head, url)
    rendered = url.render_as_string(hide_password=False)
    engine = create_engine(url, Settings(database_url=rendered))
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            _, key = await create_workspace(session, "Import benchmark")
    finally:
        await engine.dispose()
    return rendered, key.secret


def run_import(base: str, key: str, content: bytes, mode: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
        started = time.monotonic()
        response = http.post(
            "/v1/imports",
            files={"file": ("contacts.csv", content, "text/csv")},
            data={
                "resource": "contacts",
                "mode": mode,
                "mapping": '{"email": "email", "first_name": "first_name", '
                '"last_name": "last_name", "phones": "phones", "tags": "tags", '
                '"lifecycle_stage": "lifecycle_stage", "plan": "custom_fields.plan"}',
            },
        )
        response.raise_for_status()
        location = response.headers["Location"]
        while True:
            job: dict[str, Any] = http.get(location).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(0.05)
        wall = time.monotonic() - started
    assert job["status"] == "succeeded", job
    assert job["failed"] == 0, job
    load = (
        datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
    ).total_seconds()
    return {**job, "load_seconds": load, "wall_seconds": wall, **first_searches(base, key, mode)}


def first_searches(base: str, key: str, mode: str) -> dict[str, float]:
    """The first `q=` searches once the job has ended, timed from outside: a new row's name must
    be found at once and fast, not after autovacuum has caught up with the table."""
    wanted = "last12345-1" if mode == "upsert" else "first54321"
    timings: dict[str, float] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        for label, query in (
            ("first_search_seconds", wanted),
            ("second_search_seconds", "example42.com"),
        ):
            started = time.monotonic()
            response = http.get("/v1/contacts", params={"q": query, "limit": 25}, timeout=600)
            timings[label] = time.monotonic() - started
            response.raise_for_status()
            assert response.json()["data"], (query, response.text)
    return timings


def write(path: Path, args: argparse.Namespace, results: list[tuple[str, dict[str, Any]]]) -> None:
    lines = [
        "# Import benchmark",
        "",
        f"`python -m bench.imports --rows {args.rows}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{'the server at --database-url' if args.database_url else 'embedded PostgreSQL'}; "
        "one `crm-api serve` process with its in-process worker, chunks of "
        f"{args.chunk_rows} rows.",
        "",
        "Load: from the job's `started_at` to `finished_at` (validation, COPY, the set-based "
        "merge, events, audit entries, lifecycle history). Wall: from the upload's first byte "
        "to the poll that saw the job end.",
        "",
        "The two searches are the first `GET /v1/contacts?q=` requests once the job has ended: "
        "a name the import wrote, then an email domain many rows share.",
        "",
        "| run | rows | created | updated | load s | rows/s (load) | wall s | rows/s (wall) "
        "| first search s | second search s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, job in results:
        rows = job["rows_total"]
        lines.append(
            f"| {name} | {rows:,} | {job['created']:,} | {job['updated']:,} | "
            f"{job['load_seconds']:.1f} | {rows / job['load_seconds']:,.0f} | "
            f"{job['wall_seconds']:.1f} | {rows / job['wall_seconds']:,.0f} | "
            f"{job['first_search_seconds']:.3f} | {job['second_search_seconds']:.3f} |"
        )
    create = next(
        job["rows_total"] / job["load_seconds"] for name, job in results if name == "create"
    )
    lines += [
        "",
        f"The aim is 10,000 contacts per second for the create import; this run's is "
        f"{create:,.0f} ({'met' if create >= 10_000 else 'not met'}). The first search after "
        "an import is to answer in under a second: an import of 1,000 rows or more analyzes "
        "its table before it reports success (before that, a search right after a 100k import "
        "ran for minutes on a plan made with the empty table's statistics).",
        "",
        "## Where the time goes",
        "",
        "Profiled on 2026-11-27 (the loading backend's CPU per statement, read from /proc; "
        "cProfile of the preparation; 100k contacts, PostgreSQL 15, the same two cores, shared "
        "with other work): per row the database spends about 190 us and Python about 100 us. "
        "Before the events and audit entries were built in SQL, on the same machine the same "
        "day: 2,022 rows/s (create) and 2,032 (upsert). Runs of the same code within the hour "
        "moved by a fifth with what else the two cores ran (create 3,566 to 4,371 rows/s).",
        "",
        "Database (one backend: a chunk is one transaction), per row: the statement that writes "
        "the events and audit entries from the staging table about 95 us (the event's JSON built "
        "from the row about 20, the audit entry's field-by-field changes about 34, the two "
        "inserts with their 11 indexes, foreign keys and webhook fan-out trigger the rest); the "
        "INSERT into `contacts` 50 (37 alone: heap, primary key, unique email and ON CONFLICT "
        "14, the seven btree indexes 15, the three GIN indexes 8, the trigram one 4 of them); "
        "the lifecycle history 30 (its indexes, two foreign key checks, the lifecycle chain "
        "trigger); the key lookup 11 and COPY into staging 4. The key lookup and the joins from "
        "the staging table to the written records hash the whole table once a chunk (42-70 ms "
        "at 100k contacts; 18-32 ms as index probes, which were tried and reverted: on a table "
        "grown within the job, without fresh statistics, the planner scanned it once per "
        "staged row). An "
        "upsert also compares each field with the record before: its events statement 75 us, "
        "the UPDATE 56, reading the records before 20 (at 20k).",
        "",
        "Python (a thread, beside the database), per row: reading the CSV 11 us, validation by "
        "the API's schemas about 60 (the `ContactCreate` model about 30 of it, `email-validator`"
        "'s parsing of the part before the @ about 10; a domain and a phone number are checked "
        "once each per distinct value), the staging rows with their ids about 10.",
        "",
        "So a load of one transaction at a time stops near 5,000 rows a second even if Python "
        "cost nothing; 10,000 needs the database's share under 100 us a row. What would move "
        "it: two chunks in flight on two connections, each still one transaction, the job row "
        "locked at its end so they commit in order (the database on both cores, which Python "
        "then competes for); fewer or cheaper indexes on `contacts`, `events` and `audit_log` "
        "(about 2 us a row for each btree); an audit entry for a creation that does not repeat "
        "the event's data field by field (34 us a row, but a change to what audit entries "
        "carry). Tried and not kept: preparing chunks in a forked process instead of the "
        "thread (no faster on two shared cores; the thread and the event loop take turns on "
        "the GIL, and at 30k rows the import took as long with the thread's overlap as "
        "without), a lower `random_page_cost` for the chunk (the key lookup stayed a hash "
        "join), the JSON built as text (`json_build_object`, concatenation: slower), the "
        "lifecycle history as one more CTE of the events statement (the lifecycle chain "
        "trigger recursed on it). Chunks of 20,000 rows ran about 15% faster once; the default "
        "stays 5,000 (longer transactions, more to redo after a crash).",
    ]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: embedded)")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--output", default=str(ROOT / "docs" / "import-benchmarks.md"))
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    admin_url, _server = _database(args)
    url, key = asyncio.run(prepare(admin_url))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(
        {
            "CRM_DATABASE_URL": url,
            "CRM_RATE_LIMIT": "1000000/minute",
            "CRM_IMPORT_CHUNK_ROWS": str(args.chunk_rows),
            "CRM_WORKER_POLL_SECONDS": "0.05",
        }
    )
    base = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "crm-api"), "serve", "--port", str(port)]
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        results: list[tuple[str, dict[str, Any]]] = []
        with _process(command, env, f"{base}/readyz", WORK / "imports-serve.log"):
            http.post(
                "/v1/custom-fields",
                json={
                    "entity": "contact",
                    "key": "plan",
                    "label": "Plan",
                    "field_type": "enum",
                    "options": ["free", "pro", "enterprise"],
                },
            ).raise_for_status()
            for name, revision, mode in (
                ("create", 0, "create"),
                ("upsert (every row changed)", 1, "upsert"),
            ):
                job = run_import(base, key, build_csv(args.rows, revision=revision), mode)
                print(f"{name}: {job['rows_total'] / job['load_seconds']:,.0f} rows/s", flush=True)
                results.append((name, job))
    write(Path(args.output), args, results)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
