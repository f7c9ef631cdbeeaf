"""The incremental scoring insert of a real-time cycle, timed alone on a store the service filled.

    python bench/scoring_insert.py WORKSPACE [--commits 12] [--runs 15] [--json]

A cycle's largest step rescores the leads that the commits since the last cycle touched.
This times that insert again and again on a copy of a workspace's DuckDB file (the workspace
is left as it was): the moment is one second after the last stored event, the leads are those
the last ``--commits`` commits touched, and the playbook is the workspace's own. Each run
replaces the same leads' rows, so the runs do the same work; the figure is their median.

A store to measure: keep the workspace of a service bench run
(``bench/service.py --workspace DIR``). With ``--database URL`` the insert runs on that
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

from leadgate.playbook.loader import load_playbook
from leadgate.service.scoring import KEYS_TABLE, SCORES_TABLE, PreparedRescore, prepare_rescore
from leadgate.store.base import Store
from leadgate.store.opening import open_store


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workspace", type=Path, help="a workspace folder (its playbook.yaml, and leadgate.duckdb)")
    parser.add_argument("--commits", type=int, default=12, help="rescore the leads of the last N commits (default 12)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs (default 15)")
    parser.add_argument("--database", help="a PostgreSQL URL to run on instead of the workspace's DuckDB file")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args()


def prepare(store: Store, playbook_path: Path, commits: int) -> tuple[PreparedRescore, int]:
    """The compiled insert and the number of leads it rescores, its tables filled as a cycle fills them."""
    last_event = store.query_rows("SELECT max(ts) AS ts FROM events")[0]["ts"]
    if last_event is None:
        raise SystemExit("scoring_insert: the store has no events")
    since = max(store.last_batch_id() - commits, 0)
    prepared = prepare_rescore(store, load_playbook(playbook_path), last_event + dt.timedelta(seconds=1), since)
    return prepared, store.count(KEYS_TABLE)


def main() -> int:
    args = parse_args()
    database = args.workspace / "leadgate.duckdb"
    if not (args.workspace / "playbook.yaml").is_file() or not (args.database or database.is_file()):
        raise SystemExit(
            f"scoring_insert: {args.workspace} is not a workspace with a playbook.yaml and a leadgate.duckdb"
        )
    with tempfile.TemporaryDirectory(prefix="leadgate-insert-") as scratch:
        if args.database:
            try:
                with psycopg.connect(args.database, autocommit=True) as connection:
                    connection.execute("ANALYZE")  # a restored copy has no planner statistics yet
            except psycopg.OperationalError as exc:
                raise SystemExit(f"scoring_insert: cannot reach {args.database}: {str(exc).splitlines()[0]}") from None
            store = open_store(args.database)
        else:
            copy = Path(scratch) / "leadgate.duckdb"
            shutil.copy(database, copy)
            store = open_store(copy)
        try:
            prepared, leads = prepare(store, args.workspace / "playbook.yaml", args.commits)
            seconds = []
            for _ in range(args.runs):
                started = time.perf_counter()
                store.replace_rows_as(SCORES_TABLE, prepared.scores_query, prepared.columns, KEYS_TABLE)
                seconds.append(time.perf_counter() - started)
            events = store.count("events")
        finally:
            store.close()
    result = {
        "leads": leads,
        "events_stored": events,
        "runs": args.runs,
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "min_ms": round(min(seconds) * 1000, 1),
        "us_per_lead": round(statistics.median(seconds) / max(leads, 1) * 1e6, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"{leads:,} leads ({events:,} events stored): median {result['median_ms']} ms, "
            f"fastest {result['min_ms']} ms over {args.runs} runs ({result['us_per_lead']} µs a lead)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
