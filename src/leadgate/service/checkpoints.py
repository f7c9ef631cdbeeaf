"""The server's checkpoints: on a thread of their own, so that fewer requests wait for one.

DuckDB writes each commit to its log and, once the log has grown to 16 MiB, the commit that
crossed the size also checkpoints: it writes the logged rows into the database file before it
returns. In the server that commit is the intake's, and the requests it answers (and those
queued behind it) waited 60 to 520 ms more, about every 1.5 s under a sustained load. The
:class:`Checkpointer` takes this over (:meth:`~leadgate.store.base.Store.take_over_checkpoints`):
its thread checks the log's size a few times a second and, past
:data:`~leadgate.store.duckdb_store.CHECKPOINT_LOG_BYTES`, checkpoints on a connection of its
own while the intake and the worker go on committing. A commit that comes while the checkpoint
writes the events still waits for it, hence the larger size: fewer checkpoints. A checkpoint
that another transaction holds up is tried again on the next turn. PostgreSQL checkpoints in
its own processes: there the checkpointer has nothing to do and starts no thread.

Every write to the file waits while DuckDB checkpoints, reads and temporary tables do not. So
once a checkpoint is due, the checkpointer waits (``when_due``: at most
:data:`WAIT_FOR_CYCLE_SECONDS`) for the worker's next cycle to start: the cycle's first
part, its scoring, reads the file and writes only temporary tables, and goes on while the
checkpoint runs; started at a random moment, the checkpoint would more often hold up the
cycle's writes (its scores, moves and notices), and the notifications they carry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from leadgate.errors import StoreError
from leadgate.service.durations import RecentDurations
from leadgate.store.base import Store

log = logging.getLogger("leadgate.checkpoints")

CHECK_EVERY_SECONDS = 0.25  # the log grows ~11 MB a second at 17,000 messages a second
WARN_AFTER_TURNS = 40  # checkpoints put off this many turns in a row (10 s) are logged
WAIT_FOR_CYCLE_SECONDS = 1.0  # the longest a due checkpoint waits for the start of a cycle


class Checkpointer:
    def __init__(
        self,
        open_store: Callable[[], Store],
        every_seconds: float = CHECK_EVERY_SECONDS,
        when_due: Callable[[], object] = lambda: None,
    ) -> None:
        self._open_store = open_store
        self.every_seconds = every_seconds
        self._when_due = when_due  # called once a checkpoint is due, before it starts
        self._store: Store | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leadgate-checkpoints", daemon=True)
        self.checkpoints = 0
        self.durations = RecentDurations()  # of the checkpoints made
        self._put_off = 0  # turns in a row that could not checkpoint

    def start(self) -> None:
        store = self._open_store()
        if not store.take_over_checkpoints():
            store.close()
            return
        self._store = store
        self._thread.start()

    def stop(self) -> None:
        if self._store is None:
            return
        self._stopping.set()
        self._thread.join(timeout=60)
        self._store.close()  # DuckDB checkpoints what is left as its last connection closes

    def _loop(self) -> None:
        assert self._store is not None
        while not self._stopping.wait(self.every_seconds):
            started = time.perf_counter()
            try:
                done = self._store.checkpoint_if_due(self._when_due)
            except StoreError as exc:  # another transaction in the way: the next turn tries again
                self._put_off += 1
                if self._put_off % WARN_AFTER_TURNS == 0:  # not a passing conflict
                    log.warning("no checkpoint for %d turns in a row: %s", self._put_off, exc)
                continue
            self._put_off = 0
            if done:
                self.checkpoints += 1
                self.durations.add(time.perf_counter() - started)
