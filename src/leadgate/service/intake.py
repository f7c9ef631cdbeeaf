"""Group commit of the messages the HTTP service accepts.

A request builds its fact rows into Arrow tables itself (:meth:`Intake.tables_of`: the event
loop does it while this thread waits for the database), hands them to :meth:`Intake.submit`
and waits for the returned future.
One writer thread takes everything that arrived while the previous commit ran (and, under
concurrent load, what arrives a few milliseconds later) and commits it in one transaction,
then resolves every waiting future: a request is answered 2xx only once its facts are
committed, and a thousand small requests cost a few commits.
Facts are idempotent (a message id seen before is skipped), so a client's retry after a
crash adds nothing twice.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

import pyarrow as pa

from leadgate.errors import StoreError
from leadgate.ingest.rows import Row
from leadgate.ingest.staging import staged_tables
from leadgate.service.durations import RecentDurations
from leadgate.store.base import BatchResult, Store

MAX_ROWS_PER_COMMIT = 50_000
# Group commit: how long the writer waits for more requests before a commit (see Intake._gather).
GROUP_GAP_SECONDS = 0.008
GROUP_WAIT_SECONDS = 0.03


@dataclass
class _Submission:
    tables: dict[str, pa.Table]  # fact table -> rows (see Intake.tables_of)
    messages: int
    future: Future[BatchResult]

    @property
    def rows(self) -> int:
        return sum(rows.num_rows for rows in self.tables.values())


class Intake:
    """One writer thread committing submitted rows in groups (see the module docstring)."""

    def __init__(self, store: Store, on_commit: Callable[[BatchResult], None] | None = None) -> None:
        self.store = store
        self.on_commit = on_commit
        self._waiting: queue.Queue[_Submission | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="leadgate-intake", daemon=True)
        self.commits = 0
        self.durations = RecentDurations()  # of the commits that succeeded, from staging to the end
        self._recent_groups: deque[int] = deque(maxlen=4)  # requests each of the last commits answered
        self._numbering = threading.Lock()
        self._next_position = 1  # of the next row handed over (see tables_of)

    def start(self) -> None:
        self.store.remember_fact_ids()  # many small commits: each skips looking up ids it knows to be new
        self._thread.start()

    def stop(self) -> None:
        self._waiting.put(None)
        self._thread.join(timeout=30)

    def tables_of(self, rows: Sequence[Row]) -> dict[str, pa.Table]:
        """One request's rows as Arrow tables (built on the caller's thread), numbered after
        those of every request before it: the rows of a group are then in the order of its
        requests, so a message sent twice keeps its first copy, as within one request, and
        the commit staging them renumbers nothing."""
        with self._numbering:
            first = self._next_position
            self._next_position += len(rows)
        return staged_tables(rows, first)

    def submit(self, tables: dict[str, pa.Table], messages: int) -> Future[BatchResult]:
        """Queue one request's rows (from :meth:`tables_of`) for the next commit; the future
        resolves once they are committed."""
        future: Future[BatchResult] = Future()
        self._waiting.put(_Submission(tables, messages, future))
        return future

    def _run(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            group, stopping = self._gather(first)
            self._commit(group)
            if stopping:
                return

    def _gather(self, first: _Submission) -> tuple[list[_Submission], bool]:
        """The group of the next commit: ``first``, what is queued, and what follows it closely.

        A commit's cost is mostly fixed, so when recent commits answered several requests the
        writer lingers for the next ones: clients answered together send again together, and
        the event loop hands their requests over one by one as it parses them. It waits at
        most GROUP_GAP_SECONDS for each next one and GROUP_WAIT_SECONDS in all. A lone client
        (the last commits answered one request each) never waits. True as the second value:
        the intake is stopping.
        """
        group, rows = [first], first.rows
        linger = GROUP_WAIT_SECONDS if max(self._recent_groups, default=1) > 1 else 0.0
        deadline = time.monotonic() + linger
        while rows < MAX_ROWS_PER_COMMIT:
            wait = min(GROUP_GAP_SECONDS, deadline - time.monotonic())
            try:
                more = self._waiting.get(timeout=wait) if wait > 0 else self._waiting.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return group, True
            group.append(more)
            rows += more.rows
        self._recent_groups.append(len(group))
        return group, False

    def _commit(self, group: list[_Submission]) -> None:
        started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        clock = time.perf_counter()
        try:
            messages = sum(item.messages for item in group)
            result = self.store.commit_tables(self._grouped_tables(group), "http", "HTTP API", messages, started)
        except Exception as exc:  # every waiting request learns that its facts are not stored
            error = exc if isinstance(exc, StoreError) else StoreError(f"the commit failed: {exc}")
            for submission in group:
                submission.future.set_exception(error)
            return
        self.commits += 1
        self.durations.add(time.perf_counter() - clock)
        for submission in group:
            submission.future.set_result(result)
        if self.on_commit is not None and result.facts_added:
            self.on_commit(result)

    @staticmethod
    def _grouped_tables(group: list[_Submission]) -> dict[str, pa.Table]:
        """Every submission's rows, in the group's order (the first copy of a fact wins)."""
        by_table: dict[str, list[pa.Table]] = {}
        for submission in group:
            for table, rows in submission.tables.items():
                by_table.setdefault(table, []).append(rows)
        return {table: pa.concat_tables(parts) for table, parts in by_table.items()}
