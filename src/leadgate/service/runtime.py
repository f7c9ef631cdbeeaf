"""What a running server holds: the workspace, its connections, the intake, the worker and the checkpointer.

DuckDB takes one writer process, and a process may hold several connections to it; the
server keeps two. The intake's connection only appends facts (so ingestion never waits for a
cycle), and the lifecycle connection serves everything else: the worker's cycles, decisions,
reads, keys, the outbox. Calls on the lifecycle connection take :attr:`Runtime.lock` (a
connection serves one thread at a time, and a decision must see the state it changes). On
DuckDB a third connection checkpoints the database (see :mod:`leadgate.service.checkpoints`).
"""

from __future__ import annotations

import datetime as dt
import gc
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from leadgate.errors import NotAuthenticated
from leadgate.playbook.compiled import Playbook
from leadgate.service.checkpoints import WAIT_FOR_CYCLE_SECONDS, Checkpointer
from leadgate.service.cycle import CycleReport, run_cycle
from leadgate.service.delivery import workspace_delivery_settings
from leadgate.service.intake import Intake
from leadgate.service.keys import Principal, hash_key, principal_of
from leadgate.service.outbox import Outbox
from leadgate.service.scoring import utc_now
from leadgate.service.worker import CycleWorker
from leadgate.store.base import BatchResult, Store
from leadgate.store.keys_store import KeysStore
from leadgate.workspace import Workspace

# Python's collector: a young generation this large is collected about once per batch request
# instead of ten times (a request of 100 messages makes thousands of short-lived objects).
YOUNG_GENERATION_OBJECTS = 20_000
# How long a thread may run Python before another that waits for the interpreter gets it
# (Python's default: 5 ms). The event loop waits less behind the intake and the worker.
SWITCH_INTERVAL_SECONDS = 0.001

# A key revoked elsewhere (another server process, ``leadgate keys revoke`` on a shared
# PostgreSQL database) is refused within this many seconds.
KEY_RECHECK_SECONDS = 5.0


@dataclass
class _PlaybookCache:
    path: Path
    stamp: tuple[float, int] | None = None
    playbook: Playbook | None = None


@dataclass
class Runtime:
    workspace: Workspace
    idle_seconds: float = 30.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    side_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        delivery = workspace_delivery_settings(self.workspace.settings)  # a bad setting stops the start here
        self.store: Store = self.workspace.open_store()
        self.facts_store: Store = self.workspace.open_store()
        self.intake = Intake(self.facts_store, on_commit=self._facts_committed)
        self.worker = CycleWorker(self._cycle, self.idle_seconds)
        self._playbook = _PlaybookCache(self.workspace.playbook_path)
        self._principals: dict[str, tuple[Principal, float]] = {}  # key hash -> (who, when it was read)
        self.outbox = Outbox(delivery, self.locked, self.playbook)
        self.checkpointer = Checkpointer(
            lambda: self.workspace.open_store(migrate=False),
            when_due=lambda: self.worker.wait_for_start(WAIT_FOR_CYCLE_SECONDS),
        )

    def start(self) -> None:
        self.checkpointer.start()  # first: from here on, no commit checkpoints
        self.intake.start()
        self.worker.start()
        self.worker.wake()  # catch up with what arrived while the server was down
        self.outbox.start()

    def stop(self) -> None:
        self.intake.stop()
        self.worker.stop()
        self.outbox.stop()
        self.checkpointer.stop()
        self.facts_store.close()
        self.store.close()

    @contextmanager
    def locked(self) -> Iterator[Store]:
        """The lifecycle connection, for one thread at a time."""
        with self.lock:
            yield self.store

    @contextmanager
    def side_store(self) -> Iterator[Store]:
        """A connection of its own, for long read-mostly work (the funnel and rules pages, a
        playbook preview's backtest) that must not hold up decisions, pages and cycles on the
        lifecycle connection. One at a time: such work keeps scratch tables under fixed names."""
        with self.side_lock:
            store = self.workspace.open_store(migrate=False)  # the server's connections migrated it
            try:
                yield store
            finally:
                store.close()

    def playbook(self) -> Playbook:
        """The playbook in force, read again when its file changes (a bad file raises, and is never used)."""
        cache = self._playbook
        stat = cache.path.stat() if cache.path.exists() else None
        stamp = (stat.st_mtime, stat.st_size) if stat else None
        if cache.playbook is None or stamp != cache.stamp:
            cache.playbook = self.workspace.playbook()
            cache.stamp = stamp
            self._principals.clear()  # teams come from the playbook
        return cache.playbook

    def known_principal(self, key: str) -> Principal | None:
        """Who a key is, if that was checked within KEY_RECHECK_SECONDS (None otherwise): no
        database, no lock, so the event loop can ask (see :meth:`principal`)."""
        found, checked = self._principals.get(hash_key(key), (None, 0.0))
        return found if found is not None and time.monotonic() - checked <= KEY_RECHECK_SECONDS else None

    def principal(self, key: str) -> Principal:
        """Who a key is, or :class:`NotAuthenticated`. Checking it again in the database takes
        the runtime's lock, which a cycle holds for its whole length: not on the event loop."""
        key_hash = hash_key(key)
        found = self.known_principal(key)
        if found is None:
            playbook = self.playbook()
            with self.locked() as store:
                record = KeysStore(store).by_hash(key_hash)
            if record is None:
                raise NotAuthenticated("this API key is not valid (unknown or revoked)")
            found = principal_of(record, playbook.model)
            self._principals[key_hash] = (found, time.monotonic())
        return found

    def forget_keys(self) -> None:
        """Drop the cache of known keys (after a key was revoked)."""
        self._principals.clear()

    def forget_playbook(self) -> None:
        """Read the playbook file again at the next use (after a publish or a roll back).

        The file's (mtime, size) can miss a same-size rewrite within the clock's granularity.
        A new cache object, not a cleared one: a reload already under way fills the old object.
        """
        self._playbook = _PlaybookCache(self.workspace.playbook_path)
        self._principals.clear()  # teams come from the playbook

    def now(self) -> dt.datetime:
        return utc_now()

    def _facts_committed(self, result: BatchResult) -> None:
        self.worker.wake()

    def _cycle(self) -> CycleReport:
        playbook = self.playbook()
        # the moment is read once this process's turn has come: a cycle that waited for another
        # process's must see the facts committed meanwhile as past, not future
        with self.locked() as store, store.exclusive("cycle"):
            report = run_cycle(store, playbook, self.now())
            queued = self.outbox.queue(store)  # before the lock goes (see Outbox.queue)
        self.outbox.hand_over(queued)
        return report


def tune_interpreter() -> None:
    """Settle a server process's garbage collector once its app is built: what exists now
    (modules, the app) is left out of later collections, which then walk only what requests
    make, and collections of young objects come less often (see YOUNG_GENERATION_OBJECTS).
    Collections took a tenth of the event loop's time; with these settings the bench's
    throughput is about a sixth higher (7,425 and 7,841 messages/s against 6,550 and 6,551
    without, in alternate 30 s runs).

    Threads also hand the interpreter over every SWITCH_INTERVAL_SECONDS instead of 5 ms: in
    six alternate 30 s pairs of the bench, request p99 and event-to-notification p99 were
    lower in every pair (notification p99 868-1,135 ms against 951-1,687), throughput the same.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_OBJECTS, older, oldest)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
