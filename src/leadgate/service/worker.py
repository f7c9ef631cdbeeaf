"""The real-time worker: a qualification cycle soon after new facts arrive.

The intake (and every decision taken over the API) wakes the worker; it runs an incremental
:func:`~leadgate.service.cycle.run_cycle` on the leads touched since the last one, so an event
that crosses a threshold becomes a transition and an assignment within a moment. Without new
facts it still runs every ``idle_seconds``, which is what catches SLA deadlines that pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from leadgate.errors import LeadgateError
from leadgate.service.cycle import CycleReport
from leadgate.service.durations import RecentDurations

log = logging.getLogger("leadgate.worker")


class CycleWorker:
    def __init__(
        self,
        run: Callable[[], CycleReport],
        idle_seconds: float = 30.0,
    ) -> None:
        self._run_cycle = run
        self.idle_seconds = idle_seconds
        self._wake = threading.Event()
        self._started = threading.Event()  # set as each cycle starts (see wait_for_start)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leadgate-worker", daemon=True)
        self.cycles = 0
        self.leads_rescored = 0  # by the cycles' scoring runs, in all
        self.leads_folded = 0  # of them, those whose kept state took their new facts
        self.durations = RecentDurations()  # of the cycles that succeeded, their notifications collected
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=60)

    def wake(self) -> None:
        """Ask for a cycle as soon as the current one (if any) ends."""
        self._wake.set()

    def wait_for_start(self, timeout: float) -> bool:
        """Wait for the next cycle to start, at most ``timeout`` seconds; whether one did."""
        self._started.clear()
        return self._started.wait(timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.idle_seconds)
            if self._stopping.is_set():
                return
            self._wake.clear()
            self.run_once()

    def run_once(self) -> CycleReport | None:
        started = time.perf_counter()
        self._started.set()
        try:
            report = self._run_cycle()
        except LeadgateError as exc:  # logged, and the next wake tries again
            self.last_error = str(exc)
            log.error("qualification cycle failed: %s", exc)
            return None
        seconds = time.perf_counter() - started
        self.cycles += 1
        self.leads_rescored += report.scoring.leads_scored
        self.leads_folded += report.scoring.leads_folded
        self.durations.add(seconds)
        self.last_error = None
        log.debug(
            "cycle in %.3f s: %s qualified, %s assigned",
            seconds,
            report.qualified,
            report.assigned,
        )
        return report
