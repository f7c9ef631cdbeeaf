"""How long the server's recent commits and cycles took, as ``GET /v1/health`` reports them.

A commit's length bounds how soon a request is answered (a request waits for the commit under
way, then for its own); a cycle's bounds how soon a qualifying event becomes a transition,
an assignment and a notification (it waits for the cycle under way, then for the next). They
are the figures to look at when either latency grows.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass

KEPT = 1000  # the durations summed up: the most recent ones


@dataclass(frozen=True)
class DurationSummary:
    count: int  # durations kept (at most KEPT)
    p50_ms: float
    p99_ms: float
    max_ms: float


class RecentDurations:
    """The last KEPT durations of one kind of work, added from any thread."""

    def __init__(self) -> None:
        self._seconds: deque[float] = deque(maxlen=KEPT)
        self._lock = threading.Lock()

    def add(self, seconds: float) -> None:
        with self._lock:
            self._seconds.append(seconds)

    def summary(self) -> DurationSummary | None:
        """Median, 99th percentile (nearest rank) and longest, in milliseconds; None before the first."""
        with self._lock:
            ordered = sorted(self._seconds)
        if not ordered:
            return None

        def rank(share: float) -> float:
            return round(ordered[math.ceil(share * len(ordered)) - 1] * 1000, 1)

        return DurationSummary(len(ordered), rank(0.5), rank(0.99), round(ordered[-1] * 1000, 1))
