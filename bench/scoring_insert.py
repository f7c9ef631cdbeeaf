"""The incremental rescoring of a real-time cycle, timed alone on a store the service filled.

    python bench/scoring_insert.py WORKSPACE [--commits 12] [--runs 15] [--read-histories] [--json]

A cycle's largest step rescores the leads that the commits since the last cycle touched.
This times that step again and again on a copy of a workspace's DuckDB file (the workspace
is left as it was): the moment is one second after the last stored event, the leads are those
the last ``--commits`` commits touched, and the playbook is the workspace's own.

On DuckDB a cycle keeps each lead's event aggregates and every lead's and account's latest
traits, and folds the new facts into them (:mod:`leadgate.scoring.event_state`,
:mod:`leadgate.scoring.trait_state`). The bench first makes that state for every lead from
the batches before those commits (its time is printed: a server's first cycles pay it once,
for the leads they touch), then each run starts from it again, folds the commits' events and
inserts the scores; the figure is the runs' median. ``--read-histories`` times the same
rescoring reading each lead's whole history instead, as PostgreSQL does.

A store to measure: keep the workspace of a service bench run
(``bench/service.py --workspace DIR``). With ``--database URL`` the rescoring runs on that
PostgreSQL database instead; it rewrites the derived tables a cycle writes (the leads'
scores, the parameters and key tables), so point it at a copy (``pg_dump`` and ``pg_restore``);
its planner statistics are refreshed first (a restored copy has none, and the insert would
then be planned for tiny tables and run for minutes).

Compare two versions of the code on the same store, alternating: the runs of one version vary
by a few percent, the machine's speed by more over an hour.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psycopg

from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import load_playbook
from leadgate.service.kept_state import STATE_TABLE, TRAIT_STATE_MARK, TRAIT_STATE_TABLE, keeps_event_state
from leadgate.service.scoring import KEYS_TABLE, apply_rescore, prepare_rescore
from leadgate.store.base import Store
from leadgate.store.opening import open_store


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path, help="a workspace folder (its playbook.yaml, and leadgate.duckdb)")
    parser.add_argument("--commits", type=int, default=12, help="rescore the leads of the last N commits (default 12)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs (default 15)")
    parser.add_argument("--database", help="a PostgreSQL URL to run on instead of the workspace's DuckDB file")
    parser.add_argument("--read-histories", action="store_true", help="read every history, keeping no event state")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args()


def open_copy(args: argparse.Namespace, scratch: Path) -> Store:
    """The store to measure: a copy of the workspace's DuckDB file, or the PostgreSQL database."""
    database = args.workspace / "leadgate.duckdb"
    if not (args.workspace / "playbook.yaml").is_file() or not (args.database or database.is_file()):
        raise SystemExit(
            f"scoring_insert: {args.workspace} is not a workspace with a playbook.yaml and a leadgate.duckdb"
        )
    if args.database:
        try:
            with psycopg.connect(args.database, autocommit=True) as connection:
                connection.execute("ANALYZE")  # a restored copy has no planner statistics yet
        except psycopg.OperationalError as exc:
            raise SystemExit(f"scoring_insert: cannot reach {args.database}: {str(exc).splitlines()[0]}") from None
        return open_store(args.database)
    copy = scratch / "leadgate.duckdb"
    shutil.copy(database, copy)
    return open_store(copy)


def measure(store: Store, playbook: Playbook, commits: int, runs: int, keep_state: bool) -> dict[str, object]:
    last_event = store.query_rows("SELECT max(ts) AS ts FROM events")[0]["ts"]
    if last_event is None:
        raise SystemExit("scoring_insert: the store has no events")
    moment = last_event + dt.timedelta(seconds=1)
    top = store.last_batch_id()
    since = max(top - commits, 0)
    keeps = keep_state and keeps_event_state(store)  # whatever the histories' length
    state_seconds = None
    if keeps:  # every lead's state, from the batches before the measured commits
        started = time.perf_counter()
        apply_rescore(store, prepare_rescore(store, playbook, moment, 0, keep_state=True), since)
        state_seconds = time.perf_counter() - started
        store.replace_scratch_as("bench_state", f"SELECT * FROM {STATE_TABLE}")
        store.replace_scratch_as("bench_traits", f"SELECT * FROM {TRAIT_STATE_TABLE}")
        mark = store.prepared[TRAIT_STATE_MARK]
    seconds, folded = [], 0
    for _ in range(runs):
        if keeps:
            store.replace_scratch_as(STATE_TABLE, "SELECT * FROM bench_state")
            store.replace_scratch_as(TRAIT_STATE_TABLE, "SELECT * FROM bench_traits")
            store.prepared[TRAIT_STATE_MARK] = mark
        started = time.perf_counter()
        prepared = prepare_rescore(store, playbook, moment, since, keep_state=keep_state)
        _, folded = apply_rescore(store, prepared, top)
        seconds.append(time.perf_counter() - started)
    return {
        "leads": store.count(KEYS_TABLE),
        "folded": folded,
        "events_stored": store.count("events"),
        "state_made_s": None if state_seconds is None else round(state_seconds, 2),
        "runs": runs,
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "min_ms": round(min(seconds) * 1000, 1),
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="leadgate-insert-") as scratch:
        store = open_copy(args, Path(scratch))
        try:
            result = measure(
                store, load_playbook(args.workspace / "playbook.yaml"), args.commits, args.runs, not args.read_histories
            )
        finally:
            store.close()
    result["us_per_lead"] = round(float(result["median_ms"]) * 1000 / max(int(result["leads"]), 1), 1)  # type: ignore[arg-type]
    if args.json:
        print(json.dumps(result))
    else:
        made = f"; the state of every lead made first in {result['state_made_s']} s" if result["state_made_s"] else ""
        print(
            f"{result['leads']:,} leads, {result['folded']:,} of them folded ({result['events_stored']:,} events "
            f"stored): median {result['median_ms']} ms, fastest {result['min_ms']} ms over {args.runs} runs "
            f"({result['us_per_lead']} µs a lead){made}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
