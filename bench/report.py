"""docs/benchmarks.md and its chart, from the runner's results."""

import argparse
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _ratio(results: Sequence[Any], result: Any) -> str:
    for other in results:
        if (other.target, other.scenario, other.workers) == (
            "floor",
            result.scenario,
            result.workers,
        ):
            return f"{result.rps / other.rps:.2f}x"
    return "n/a"


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
        "interactions (half of them one contact's) in one workspace, seeded with COPY. "
        "Each scenario: "
        f"{args.warmup} s warm-up, then {getattr(args, 'rounds', 1)} rounds of {args.seconds} s "
        f"with {args.connections} connections and {args.threads} wrk threads; the targets take "
        "turns round by round. Each figure is the median of a target's rounds (this machine's speed "
        "drifts by 15-25% between minutes); the last latency column is the worst round's p99.",
        "",
        "The floor is `bench/floor_app.py`: Starlette, an asyncpg pool and orjson answering the "
        "same queries with no ORM, validation, auth or middleware, under the same uvicorn settings. "
        "The ratio is crm-api's throughput over the floor's for the same query; n/a where the floor "
        "has no equivalent.",
        "",
        f"![requests per second]({chart.name})",
        "",
        "| scenario | target | workers | req/s | p50 ms | p95 ms | p99 ms | p99 worst round "
        "| non-2xx | errors | vs floor |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        ratio = _ratio(results, r) if r.target.startswith("crm-api") else ""
        lines.append(
            f"| {r.scenario} | {r.target} | {r.workers} | {r.rps:,.0f} | {r.p50_ms:.1f} | "
            f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {r.p99_worst_ms:.1f} | {r.non_2xx} | {r.errors} | "
            f"{ratio} |"
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
