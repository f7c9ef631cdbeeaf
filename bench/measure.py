"""What the phases measure with: time, peak memory, Python's share, and the failure that voids a timing."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from generate import AS_OF

from leadgate.playbook.compiled import Playbook
from leadgate.playbook.loader import parse_playbook
from leadgate.scoring.engine import score_leads
from leadgate.service.scoring import stamped
from leadgate.store.duckdb_store import DuckDBStore

PLAYBOOK = Path(__file__).with_name("playbook.yaml")


def scoring_playbook() -> Playbook:
    """The bench playbook without its routing and teams: the scoring that the hand-written query
    computes too. (Routing rules add one flag per rule and lead to a scoring run; only the cycle
    phase uses them, with the whole playbook.)"""
    text = PLAYBOOK.read_text(encoding="utf-8")
    return parse_playbook(text[: text.index("\nrouting:")], str(PLAYBOOK))


RUNS = 2

Result = dict[str, Any]


class VerificationFailed(Exception):
    """Two computations that must agree did not: the timings would compare different work."""


def peak_rss_bytes() -> int:
    """The peak resident memory of this process so far (``VmHWM``)."""
    return _status_bytes("VmHWM:")


def rss_bytes() -> int:
    """The resident memory of this process now (``VmRSS``)."""
    return _status_bytes("VmRSS:")


def _status_bytes(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss() -> None:
    """Start a new peak-memory measurement for this process (Linux ``clear_refs`` code 5)."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def python_overhead(
    store: DuckDBStore, playbook: Playbook, as_of: dt.datetime = AS_OF, only: str | None = None
) -> Result:
    """Seconds to build the Ibis expression and compile it to SQL (best of three).

    ``only`` names a table of lead keys, to measure an incremental run's expression.
    """
    builds, compiles = [], []
    for _ in range(3):
        started = time.perf_counter()
        only_keys = store.backend.table(only) if only else None
        expression = stamped(score_leads(store.facts(), playbook, as_of, only_keys), playbook, as_of)
        built = time.perf_counter()
        store.sql(expression, fuse_selects=only is None)  # as a large full run, or an incremental one, compiles it
        builds.append(built - started)
        compiles.append(time.perf_counter() - built)
    return {"build": min(builds), "compile": min(compiles)}
