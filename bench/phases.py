"""The measured phases. run.py starts each in a fresh process, so that the peak memory it
reports (``VmHWM``) belongs to that phase alone and every first run is a cold one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from compare import compare_tables, score_columns
from cycle_phase import run_cycle_phase
from generate import AS_OF, DatasetSize
from hand_sql import compare_with_leadgate, hand_query
from import_file import run_import
from measure import (
    RUNS,
    Result,
    VerificationFailed,
    peak_rss_bytes,
    python_overhead,
    reset_peak_rss,
    scoring_playbook,
    timed,
)
from new_batch import INCREMENTAL_AS_OF, import_batch, new_events
from workspace import open_store, prepare

from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import score_leads
from leadgate.service.scoring import SCORES_TABLE, run_scoring, stamped
from leadgate.store.duckdb_store import DuckDBStore

__all__ = ["PHASES", "VerificationFailed", "run_prepare"]


def repeated(action: Callable[[], object]) -> Result:
    """Run ``action`` RUNS times: every time, the first (cold) and the best (warm)."""
    seconds = [timed(action) for _ in range(RUNS)]
    return {"seconds": seconds, "first": seconds[0], "best": min(seconds)}


def run_prepare(workspace: Path, size: DatasetSize, regenerate: bool) -> Result:
    """Generate the facts (or reuse them) and reset the store for a run."""
    return prepare(workspace, size, regenerate) | {"peak_rss_bytes": peak_rss_bytes()}


def run_full(workspace: Path, size: DatasetSize) -> Result:
    """leadgate's full scoring, as the product runs it, twice; then where its time goes."""
    store = open_store(workspace)
    playbook = scoring_playbook()
    result = repeated(lambda: run_scoring(store, playbook, AS_OF))
    result["peak_rss_bytes"] = peak_rss_bytes()
    result["leads_scored"] = store.count(SCORES_TABLE)
    result["python_seconds"] = python_overhead(store, playbook)
    store.close()
    return result


def run_hand(workspace: Path, size: DatasetSize) -> Result:
    """The hand-written query, twice; then its agreement with leadgate's scores."""
    store = open_store(workspace)
    query = hand_query(AS_OF)
    result = repeated(lambda: store.con.execute(query))
    result["peak_rss_bytes"] = peak_rss_bytes()
    comparison = compare_with_leadgate(store.con)
    store.close()
    result["comparison"] = comparison.as_dict()
    if not comparison.agrees:
        raise VerificationFailed(f"the hand-written query disagrees with leadgate: {comparison.as_dict()}")
    return result


def run_incremental(workspace: Path, size: DatasetSize) -> Result:
    """Import a batch of new events through the real import path, then rescore incrementally."""
    store = open_store(workspace)
    playbook = scoring_playbook()
    events = new_events(size)
    result: Result = {"events": events.num_rows, "leads_touched": len(set(events["user_id"].to_pylist()))}
    result["commit_seconds"] = timed(lambda: import_batch(store, events))
    result["commit_peak_rss_bytes"] = peak_rss_bytes()
    reset_peak_rss()
    runs: list[Any] = []
    result["seconds"] = timed(lambda: runs.append(run_scoring(store, playbook, INCREMENTAL_AS_OF, incremental=True)))
    result["peak_rss_bytes"] = peak_rss_bytes()
    result["kind"] = runs[0].kind
    result["leads_rescored"] = runs[0].leads_scored
    result["python_seconds"] = python_overhead(store, playbook, INCREMENTAL_AS_OF, only="touched_keys")
    result["check"] = check_incremental(store, playbook, result["leads_touched"])
    store.close()
    return result


def check_incremental(store: DuckDBStore, playbook: Playbook, leads_touched: int) -> Result:
    """The rescored leads must hold exactly what a full scoring gives them (and include every touched lead)."""
    expected = "bench_full_check"
    store.replace_table(
        expected, stamped(score_leads(store.facts(), playbook, INCREMENTAL_AS_OF), playbook, INCREMENTAL_AS_OF)
    )
    numbers, texts = score_columns(store.con, SCORES_TABLE)
    rescored = f"as_of = TIMESTAMP '{INCREMENTAL_AS_OF.isoformat(sep=' ')}'"
    comparison = compare_tables(store.con, expected, SCORES_TABLE, numbers, texts, only_actual_where=rescored)
    row = store.con.execute(
        f"SELECT count(DISTINCT e.lead_key) FROM events e JOIN {SCORES_TABLE} s USING (lead_key) "
        f"WHERE e.batch_id = (SELECT max(batch_id) FROM imports) AND s.{rescored}"
    ).fetchone()
    touched_and_rescored = int(row[0]) if row else 0
    store.con.execute(f"DROP TABLE IF EXISTS {expected}")
    result = comparison.as_dict() | {"touched_leads_rescored": touched_and_rescored}
    if not comparison.agrees or touched_and_rescored != leads_touched:
        raise VerificationFailed(f"incremental scoring differs from a full scoring: {result}")
    return result


def run_import_file(workspace: Path, size: DatasetSize) -> Result:
    """Import a JSON-lines file several times larger than DuckDB's memory limit."""
    return run_import(workspace) | {"peak_rss_bytes": peak_rss_bytes()}


PHASES: dict[str, Callable[[Path, DatasetSize], Result]] = {
    "full": run_full,
    "import": run_import_file,
    "hand": run_hand,
    "incremental": run_incremental,
    "cycle": run_cycle_phase,
}
