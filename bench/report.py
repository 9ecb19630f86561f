"""docs/benchmarks.md and its chart, from the runner's results."""

import argparse
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# The floor scenario a crm-api scenario is held against where the floor does not answer that
# query itself: a read by id against the floor's read by id, a list against its first page.
VERSUS = {
    "get company by id": "get by id",
    "get deal by id": "get by id",
    "get ticket by id": "get by id",
    "get order by id": "get by id",
    "search q=": "list, first page",
    "filter stage + industry": "list, first page",
    "list deals, open stages": "list, first page",
}
# What each kind of scenario is asked for: at least this ratio to the floor, p99 under this.
GOALS = {
    "get by id": (0.6, 50.0),
    "get company by id": (0.6, 50.0),
    "get deal by id": (0.6, 50.0),
    "get ticket by id": (0.6, 50.0),
    "get order by id": (0.6, 50.0),
    "list, first page": (0.5, 100.0),
    "list, deep page": (0.5, 100.0),
    "filter stage + industry": (0.5, 100.0),
    "list deals, open stages": (0.5, 100.0),
    "search q=": (0.4, 150.0),
}


def _floor_of(results: Sequence[Any], result: Any) -> Any | None:
    scenario = VERSUS.get(result.scenario, result.scenario)
    for other in results:
        if (other.target, other.scenario, other.workers) == ("floor", scenario, result.workers):
            return other
    return None


def _ratio(results: Sequence[Any], result: Any) -> str:
    floor = _floor_of(results, result)
    return "n/a" if floor is None else f"{result.rps / floor.rps:.2f}x"


def _goal(results: Sequence[Any], result: Any) -> str:
    """The scenario's goal and whether this row meets it (the worst round's p99 counts)."""
    goal = GOALS.get(result.scenario)
    floor = _floor_of(results, result)
    if goal is None or floor is None:
        return ""
    ratio, p99 = goal
    met = result.rps / floor.rps >= ratio and result.p99_worst_ms < p99
    return f"{ratio}x, p99 < {p99:.0f} ms: {'met' if met else 'missed'}"


def _chart(results: Sequence[Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(r.scenario for r in results))
    series = list(dict.fromkeys((r.target, r.workers) for r in results))
    width = 0.8 / len(series)
    figure, axis = plt.subplots(figsize=(11, 5))
    for index, (target, workers) in enumerate(series):
        values = [
            next(
                (
                    r.rps
                    for r in results
                    if (r.scenario, r.target, r.workers) == (s, target, workers)
                ),
                0,
            )
            for s in scenarios
        ]
        positions = [n + index * width for n in range(len(scenarios))]
        axis.bar(positions, values, width, label=f"{target}, {workers} worker(s)")
    axis.set_xticks([n + width * (len(series) - 1) / 2 for n in range(len(scenarios))])
    axis.set_xticklabels(scenarios, rotation=25, ha="right")
    axis.set_ylabel("requests per second")
    axis.set_title("crm-api against the floor (Starlette + asyncpg), 64 connections")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def main() -> None:
    """Render docs/benchmarks.md again from the last run's results (after editing the notes)."""
    import json

    from bench.run import WORK, Result, summarize

    saved = json.loads((WORK / "results.json").read_text())
    args = argparse.Namespace(**saved["args"])
    rounds = [Result(**r) for r in saved["rounds"]]
    write_report(summarize(rounds), args, Path(args.output), saved["measured_at"])


def write_report(
    results: Sequence[Any], args: argparse.Namespace, output: Path, measured_at: str
) -> None:
    chart = output.with_suffix(".png")
    _chart(results, chart)
    lines = [
        "# Benchmarks",
        "",
        f"Measured {measured_at} UTC (the run's start) on {platform.node() or 'this machine'} "
        f"({platform.machine()}, Python {platform.python_version()}), wrk and the servers "
        "sharing the same cores, over loopback.",
        "",
        f"Data: {args.contacts:,} contacts, {args.companies:,} companies, "
        f"{getattr(args, 'deals', 0):,} deals and {getattr(args, 'interactions', 0):,} "
        "interactions (half of them one contact's), 100,000 tickets and 100,000 orders in one "
        "workspace, seeded with COPY. "
        "Each scenario: "
        f"{args.warmup} s warm-up, then {getattr(args, 'rounds', 1)} rounds of {args.seconds} s "
        f"with {args.connections} connections and {args.threads} wrk threads; the targets take "
        "turns round by round. Each figure is the median of a target's rounds (this machine's speed "
        "drifts by 15-25% between minutes); the last latency column is the worst round's p99.",
        "",
        "The floor is `bench/floor_app.py`: Starlette, an asyncpg pool and orjson answering the "
        "same queries with no ORM, validation, auth or middleware, under the same uvicorn settings. "
        "The ratio is crm-api's throughput over the floor's for the same query, or for a read "
        "by id or a list where the floor has no such query, over the floor's contact by id or "
        "first page; n/a where neither applies. The goal column is what the scenario is asked "
        "for; the worst round's p99 is the one held to it.",
        "",
        f"![requests per second]({chart.name})",
        "",
        "| scenario | target | workers | req/s | p50 ms | p95 ms | p99 ms | p99 worst round "
        "| non-2xx | errors | vs floor | goal |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        ours = r.target.startswith("crm-api")
        ratio = _ratio(results, r) if ours else ""
        goal = _goal(results, r) if ours else ""
        lines.append(
            f"| {r.scenario} | {r.target} | {r.workers} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.p99_worst_ms:.1f} | {r.non_2xx} | {r.errors} | "
            f"{ratio} | {goal} |"
        )
    lines += [
        "",
        "## How to run it",
        "",
        "```",
        "apt-get install -y wrk",
        ".venv/bin/pip install -e '.[embedded,bench]'",
        ".venv/bin/python -m bench.run            # add --database-url postgresql://... for a server",
        "```",
        "",
        "Options: `--seconds`, `--rounds`, `--connections`, `--workers 1 2`, `--contacts`, "
        "`--companies`, `--deals`, `--interactions`, `--reseed`; `--only NAME...` runs some "
        "scenarios, `--compare CRM_X=VALUE...` also runs crm-api with other settings in the same "
        "rounds (an A/B). The seeded data is kept in `.crm-data/bench` and "
        "reused; seeding the default data set through COPY took 90-115 s here. "
        "`python -m bench.report` renders this page again "
        "from the last run (after editing `docs/benchmark-notes.md`, which is appended below).",
        "",
        "Profiles: with a run's services up, `py-spy record -p <crm-api pid> -d 10 -f raw` while "
        "wrk drives one scenario (`bench/wrk/*.lua`).",
        "",
    ]
    notes = output.parent / "benchmark-notes.md"
    if notes.exists():
        lines += ["", notes.read_text()]
    output.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
