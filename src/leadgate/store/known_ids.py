"""The 64-bit hashes of every stored fact id, in memory, so a commit knows when none of its ids
can be stored already (see :meth:`~leadgate.store.duckdb_store.DuckDBStore.remember_fact_ids`).

A hash that is absent proves the id new; a hash that is present proves nothing (two ids can
share one), and the commit then looks its ids up among the stored ones, as it would without
this. So the hashes may hold more than what is stored (a rolled-back commit's, an erased
person's), never less.

The hashes are kept in sorted runs whose sizes fall like a binary counter's (a new run is
merged into the last one while that is not larger): adding n hashes costs O(n log n) in all,
and a look-up searches O(log n) runs. Eight bytes a stored fact.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.uint64]


class KnownIds:
    """Hashes of the stored fact ids (see the module docstring)."""

    def __init__(self, hashes: Hashes) -> None:
        self._runs: list[Hashes] = []
        self._lock = threading.Lock()
        self._add(np.sort(np.asarray(hashes, dtype=np.uint64)))

    def __len__(self) -> int:
        return sum(len(run) for run in self._runs)

    def add_and_check(self, hashes: Hashes) -> bool:
        """Remember ``hashes``; True when any of them was known before (its id may be stored).

        Both in one step, so that of two commits of one id, the second learns of the first."""
        with self._lock:
            ordered = np.sort(np.asarray(hashes, dtype=np.uint64))  # searched in order: fewer cache misses
            known = any(self._holds_any(run, ordered) for run in self._runs)
            self._add(ordered)
        return known

    @staticmethod
    def _holds_any(run: Hashes, hashes: Hashes) -> bool:
        places = np.searchsorted(run, hashes)
        inside = places < len(run)
        return bool(np.any(run[places[inside]] == hashes[inside]))

    def _add(self, run: Hashes) -> None:
        """Add sorted hashes."""
        while self._runs and len(self._runs[-1]) <= len(run):
            run = _merged(self._runs.pop(), run)
        if len(run):
            self._runs.append(run)


def _merged(larger: Hashes, smaller: Hashes) -> Hashes:
    """Two sorted runs as one, in linear time (sorting their concatenation took 120 ms for 3M)."""
    places = np.searchsorted(larger, smaller) + np.arange(len(smaller))
    merged = np.empty(len(larger) + len(smaller), dtype=np.uint64)
    from_larger = np.ones(len(merged), dtype=bool)
    from_larger[places] = False
    merged[places] = smaller
    merged[from_larger] = larger
    return merged
