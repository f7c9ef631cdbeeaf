"""`make bench`: leadgate's scoring against a hand-written DuckDB query, on 50M events.

    python bench/run.py [--events N] [--leads N] [--accounts N] [--regenerate] [--json]

Each phase runs in a fresh process (``--phase NAME``, the same file) so that its peak memory
is its own: preparing the data (generated once into ``bench-workspace/``, then reused), the
full scoring by leadgate, the hand-written query (checked against leadgate lead by lead),
an incremental import plus rescoring (checked against a full scoring), a large file import,
and a qualification cycle after new events on 1% of the leads (checked against a full
scoring). The summary goes to the terminal and to ``bench-workspace/results.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import ibis
from generate import DatasetSize
from phases import PHASES, VerificationFailed, run_prepare
from report import summary, targets

RESULT_MARK = "BENCH-RESULT "
DEFAULT_WORKSPACE = Path("bench-workspace")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000_000, help="events to generate (default 50M)")
    parser.add_argument("--leads", type=int, default=1_000_000, help="leads to generate (default 1M)")
    parser.add_argument("--accounts", type=int, default=200_000, help="accounts to generate (default 200k)")
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if it is cached")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--workspace", type=Path, default=DEFAULT_WORKSPACE, help="where the store lives")
    parser.add_argument("--phase", choices=["prepare", *PHASES], help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def dataset_size(args: argparse.Namespace) -> DatasetSize:
    return DatasetSize(events=args.events, leads=args.leads, accounts=args.accounts)


def run_phase(args: argparse.Namespace) -> int:
    """In a child process: run one phase and print its result as one marked JSON line."""
    size = dataset_size(args)
    try:
        if args.phase == "prepare":
            result = run_prepare(args.workspace, size, args.regenerate)
        else:
            result = PHASES[args.phase](args.workspace, size)
    except VerificationFailed as failure:
        print(f"VERIFICATION FAILED in phase {args.phase}: {failure}", file=sys.stderr)
        return 2
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


def launch(phase: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one phase in a fresh Python process and return its result."""
    command = [sys.executable, __file__, "--phase", phase, "--workspace", str(args.workspace)]
    command += ["--events", str(args.events), "--leads", str(args.leads), "--accounts", str(args.accounts)]
    if args.regenerate:
        command.append("--regenerate")
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"bench: phase {phase!r} failed (exit {completed.returncode}); see the messages above")
    marked = [line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)]
    return dict(json.loads(marked[-1][len(RESULT_MARK) :]))


def progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase in order; the results of the whole run."""
    size = dataset_size(args)
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dataset": size.as_dict(),
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]},
    }
    steps = [
        ("prepare", "preparing the data (generated on the first run, then reused)"),
        ("leadgate", "leadgate full scoring, twice"),
        ("hand", "hand-written DuckDB query, twice, then the lead-by-lead check"),
        ("incremental", "incremental import and rescoring, then the check against a full scoring"),
        ("import", "importing a JSON-lines file larger than DuckDB's memory limit"),
        ("cycle", "a full qualification cycle, new events on 1% of the leads, then the incremental cycle, checked"),
    ]
    for key, description in steps:
        progress(description)
        results[key] = launch("full" if key == "leadgate" else key, args)
    results["machine"] |= {"load_after": os.getloadavg()[0], "duckdb": duckdb.__version__, "ibis": ibis.__version__}
    results["targets"] = [target.as_dict() for target in targets(results)]
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:
        return run_phase(args)
    results = run_all(args)
    output = args.workspace / "results.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2) if args.json else summary(results))
    progress(f"results written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
