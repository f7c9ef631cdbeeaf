"""The benchmark's store: generated once, reused while its size matches, reset before each run.

``bench-workspace/dataset.json`` records the size the store was generated for. A run that
asks for another size (or ``--regenerate``) starts from an empty file; otherwise the run only
removes what earlier runs added (import batches after the first, scores, scoring runs and
scratch tables), so every run measures the same facts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from generate import DatasetSize, generate

from leadgate.store.duckdb_store import DuckDBStore

DATABASE = "leadgate.duckdb"
DESCRIPTION = "dataset.json"
SCRATCH_TABLES = (
    *("lead_scores", "bench_hand", "bench_full_check", "rescore_keys", "touched_keys"),
    *("bench_qualified_first", "bench_scores_before", "bench_states_before"),
)
LIFECYCLE_TABLES = ("transitions", "assignments", "decisions", "sla_breaches", "absences")


def open_store(workspace: Path) -> DuckDBStore:
    """The benchmark store, quiet (no progress bar on long queries)."""
    store = DuckDBStore(workspace / DATABASE)
    store.con.execute("SET enable_progress_bar = false")
    return store


def prepare(workspace: Path, size: DatasetSize, regenerate: bool) -> dict[str, object]:
    """Generate the facts unless a store of this size exists; then reset it for a run."""
    workspace.mkdir(parents=True, exist_ok=True)
    if regenerate or not _holds(workspace, size):
        return _generate_fresh(workspace, size)
    started = time.perf_counter()
    store = open_store(workspace)
    try:
        reset(store, size)
        counts = _counts(store)
    finally:
        store.close()
    return {"generated": False, "seconds": time.perf_counter() - started, "rows": counts}


def _holds(workspace: Path, size: DatasetSize) -> bool:
    description = workspace / DESCRIPTION
    if not (workspace / DATABASE).exists() or not description.exists():
        return False
    return bool(json.loads(description.read_text()) == size.as_dict())


def _generate_fresh(workspace: Path, size: DatasetSize) -> dict[str, object]:
    for stale in (workspace / DESCRIPTION, workspace / DATABASE, workspace / f"{DATABASE}.wal"):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    store = open_store(workspace)
    try:
        counts = generate(store.con, size)
    finally:
        store.close()
    seconds = time.perf_counter() - started
    (workspace / DESCRIPTION).write_text(json.dumps(size.as_dict(), indent=2) + "\n")
    return {"generated": True, "seconds": seconds, "rows": counts}


def reset(store: DuckDBStore, size: DatasetSize) -> None:
    """Back to the generated facts: batch 1 only, no scores, no scoring runs, no lifecycle.

    The lead states (derived) go with their table, which the next opening of the store
    creates again as this version of leadgate declares it.
    """
    con = store.con
    con.execute("BEGIN TRANSACTION")
    for table in ("events", "traits", "identities", "imports"):
        con.execute(f"DELETE FROM {table} WHERE batch_id > 1")
    con.execute(f"DELETE FROM person_keys WHERE first_key > {size.leads}")
    con.execute("DELETE FROM scoring_runs")
    for table in LIFECYCLE_TABLES:
        con.execute(f"DELETE FROM {table}")
    con.execute("DROP TABLE IF EXISTS lead_state")
    for table in SCRATCH_TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute("COMMIT")
    con.execute("CHECKPOINT")


def _counts(store: DuckDBStore) -> dict[str, int]:
    return {table: store.count(table) for table in ("person_keys", "traits", "identities", "events")}
