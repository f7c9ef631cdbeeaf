"""What a real-time cycle costs: a fixed part, and a part per message since the cycle before.

    python bench/cycle_cost.py WORKSPACE [--messages 100,800,3200,6400] [--rounds 6] [--threads N] [--json]

On a copy of a workspace's DuckDB file (the workspace is left as it was), each round commits
``--messages`` bench messages (the service bench's mix, through the intake's own path: fact
rows, Arrow tables, one group commit) and then runs one qualification cycle on the worker's
own connection, one size after the other, nothing else running. The figures are the medians of
the rounds after the first (which compiles the SQL): the cycle's wall time, the process's CPU
time over it (DuckDB's threads included), the leads it rescored, and its steps. A line fitted
through the sizes splits a cycle into a fixed part and a part per message.

Why it matters: the server's worker runs its cycles back to back, each taking in the messages
that came during the one before, so at ``r`` messages a second a cycle lasts about
``fixed / (1 - per_message * r)``: the fixed part is paid on every cycle and stretched by the
load (see docs/performance.md).

A store to measure: keep the workspace of a service bench run (``bench/service.py
--workspace DIR``). ``--threads`` sets DuckDB's threads for the run (its default: one a core).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from service_load import BATCH_SIZE, BatchPool, MessageMaker

from leadgate.api.ingest import message_fact_rows
from leadgate.ingest.rows import Row
from leadgate.service.cycle import run_cycle
from leadgate.service.intake import Intake
from leadgate.workspace import Workspace


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path, help="a workspace folder (its playbook.yaml, and leadgate.duckdb)")
    parser.add_argument("--messages", default="100,800,3200,6400", help="messages before each cycle, by 100s")
    parser.add_argument("--rounds", type=int, default=6, help="rounds of every size; the first is not counted")
    parser.add_argument("--threads", type=int, help="DuckDB's threads (default: DuckDB's, one a core)")
    parser.add_argument("--leads", type=int, default=100_000, help="leads the messages name (the service bench's)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    try:
        args.sizes = [int(size) for size in args.messages.split(",")]
    except ValueError:
        parser.error(f"--messages {args.messages!r}: give numbers of messages, e.g. 100,800,3200")
    if not args.sizes or any(size < BATCH_SIZE or size % BATCH_SIZE for size in args.sizes):
        parser.error(f"--messages {args.messages!r}: each a multiple of {BATCH_SIZE}")
    if args.rounds < 2:
        parser.error("--rounds: at least 2 (the first is not counted)")
    if not (args.workspace / "leadgate.duckdb").exists():
        parser.error(f"{args.workspace}: no leadgate.duckdb here (keep one with bench/service.py --workspace DIR)")
    return args


# Streams of their own: the service bench numbers its clients' streams from 0 by thousands, so
# these message ids never meet the ids a kept bench store already holds.
FIRST_STREAM = 900_000


class Sender:
    """Commits bench messages as the server's intake does: the service bench's request bodies
    (:class:`BatchPool`), each parsed as a request, all of them in one group commit."""

    def __init__(self, intake: Intake, leads: int) -> None:
        self.intake = intake
        self.pools = [BatchPool(MessageMaker(FIRST_STREAM + stream, leads)) for stream in range(4)]

    def commit(self, messages: int) -> dt.datetime:
        """Commit ``messages`` new messages sent now; the moment a cycle then runs at."""
        bodies = [
            orjson.loads(self.pools[index % len(self.pools)].next()[0]) for index in range(messages // BATCH_SIZE)
        ]
        received = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        rows: list[Row] = []
        for body in bodies:
            rows += message_fact_rows(body["batch"], None, body["sentAt"], received)
        self.intake.submit(self.intake.tables_of(rows), messages).result()
        return received


def measure(workspace: Workspace, args: argparse.Namespace) -> dict[str, Any]:
    store, facts = workspace.open_store(), workspace.open_store()
    if args.threads is not None:
        store._run(f"SET threads = {int(args.threads)}")  # the database's: both connections
    playbook = workspace.playbook()
    intake = Intake(facts)
    intake.start()
    sender = Sender(intake, args.leads)
    runs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    try:
        for round_ in range(args.rounds):
            for size in args.sizes:
                moment = sender.commit(size)
                wall, cpu = time.perf_counter(), time.process_time()
                report = run_cycle(store, playbook, moment)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if round_:
                    runs[size].append(
                        {"wall": wall, "cpu": cpu, "leads": report.scoring.leads_scored, "steps": report.seconds}
                    )
    finally:
        intake.stop()
        facts.close()
        store.close()
    sizes = {size: _medians(found) for size, found in runs.items()}
    fixed, per_message = np.polyfit(list(sizes), [figures["wall_ms"] for figures in sizes.values()], 1)[::-1]
    return {"sizes": sizes, "fixed_ms": float(fixed), "per_message_us": float(per_message * 1000)}


def _medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    steps = {step: round(statistics.median(run["steps"][step] for run in runs) * 1000, 1) for step in runs[0]["steps"]}
    return {
        "wall_ms": round(statistics.median(run["wall"] for run in runs) * 1000, 1),
        "cpu_ms": round(statistics.median(run["cpu"] for run in runs) * 1000, 1),
        "leads": statistics.median(run["leads"] for run in runs),
        "steps_ms": steps,
    }


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="leadgate-cycle-cost-") as scratch:
        copy = Path(scratch) / "ws"
        shutil.copytree(args.workspace, copy)
        results = measure(Workspace(copy), args)
    results["settings"] = {"messages": args.sizes, "rounds": args.rounds, "threads": args.threads}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'messages':>8} {'wall ms':>8} {'cpu ms':>7} {'leads':>6}  steps (ms)")
    for size, figures in results["sizes"].items():
        steps = ", ".join(f"{step} {ms:.0f}" for step, ms in figures["steps_ms"].items())
        print(f"{size:>8} {figures['wall_ms']:>8.0f} {figures['cpu_ms']:>7.0f} {figures['leads']:>6.0f}  {steps}")
    print(
        f"a cycle: {results['fixed_ms']:.0f} ms fixed + {results['per_message_us']:.1f} µs a message "
        f"(a line through the medians of {args.rounds - 1} rounds)"
    )


if __name__ == "__main__":
    main()
