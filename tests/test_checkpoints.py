"""The server's checkpoints: once a store takes them over, commits stop checkpointing, and the
checkpointer's thread makes them on its own connection while commits go on, losing nothing."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from leadgate.errors import StoreError
from leadgate.service import checkpoints
from leadgate.service.checkpoints import Checkpointer
from leadgate.service.cycle import CycleReport
from leadgate.service.scoring import ScoringRun
from leadgate.service.worker import CycleWorker
from leadgate.store import duckdb_store
from leadgate.store.duckdb_store import CHECKPOINT_LOG_BYTES, DuckDBStore
from leadgate.store.postgres_store import PostgresStore
from tests.service_fixtures import serving, wait_until

DUCKDB_OWN_THRESHOLD = 16 * 1024**2  # DuckDB's checkpoint_threshold by default
ROWS_PER_COMMIT = 2_000  # fewer rows than DuckDB writes straight to the file: they go through the log
TEXT = "x" * 2_000  # a commit logs about 4 MB


def commit_filler(store: DuckDBStore) -> None:
    """One commit of ROWS_PER_COMMIT rows to a scratch table, as the intake's commits go through the log."""
    store.con.execute(f"INSERT INTO filler SELECT '{TEXT}' || i FROM range({ROWS_PER_COMMIT}) AS r(i)")


def fill_log(store: DuckDBStore, past: int) -> int:
    """Commit until the log would hold more than ``past`` bytes; how many commits (the log
    itself is shorter if a commit checkpointed meanwhile)."""
    commits = 0
    while commits * ROWS_PER_COMMIT * len(TEXT) <= past:
        commit_filler(store)
        commits += 1
    return commits


def stored_filler(path: Path) -> int:
    store = DuckDBStore(path, read_only=True)
    found = store._one("SELECT count(*) FROM filler")
    store.close()
    return int(found[0]) if found else 0


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "leadgate.duckdb"
    store = DuckDBStore(path)
    store.con.execute("CREATE TABLE filler (text VARCHAR)")
    store.close()
    return path


def test_without_a_taker_the_commit_that_passes_duckdbs_size_checkpoints(database: Path) -> None:
    writer = DuckDBStore(database)
    fill_log(writer, past=2 * DUCKDB_OWN_THRESHOLD)
    assert writer.log_bytes() < DUCKDB_OWN_THRESHOLD
    writer.close()


def test_a_store_that_took_checkpoints_over_makes_them_past_its_size_and_loses_nothing(database: Path) -> None:
    keeper = DuckDBStore(database)
    writer = DuckDBStore(database, migrate=False)  # the intake's connection, opened before the take-over
    assert keeper.take_over_checkpoints()
    assert not keeper.checkpoint_if_due()  # an empty log: nothing due
    commits = fill_log(writer, past=DUCKDB_OWN_THRESHOLD * 3 // 2)
    assert DUCKDB_OWN_THRESHOLD < keeper.log_bytes() < CHECKPOINT_LOG_BYTES  # no commit checkpointed
    assert not keeper.checkpoint_if_due()  # not due below the keeper's own size
    commits += fill_log(writer, past=CHECKPOINT_LOG_BYTES - keeper.log_bytes())
    assert keeper.log_bytes() >= CHECKPOINT_LOG_BYTES
    assert keeper.checkpoint_if_due()
    assert keeper.log_bytes() < DUCKDB_OWN_THRESHOLD / 16
    assert not keeper.checkpoint_if_due()
    writer.close()
    keeper.close()
    assert stored_filler(database) == commits * ROWS_PER_COMMIT


def test_a_due_checkpoint_first_waits_for_its_moment(database: Path) -> None:
    keeper = DuckDBStore(database)
    writer = DuckDBStore(database, migrate=False)
    assert keeper.take_over_checkpoints()
    logs_when_called: list[int] = []

    def when_due() -> None:
        logs_when_called.append(keeper.log_bytes())

    assert not keeper.checkpoint_if_due(when_due)
    assert logs_when_called == []  # nothing due: nothing to wait for
    fill_log(writer, past=CHECKPOINT_LOG_BYTES)
    assert keeper.checkpoint_if_due(when_due)
    assert len(logs_when_called) == 1
    assert logs_when_called[0] >= CHECKPOINT_LOG_BYTES  # called before the checkpoint emptied the log
    assert keeper.log_bytes() < DUCKDB_OWN_THRESHOLD / 16
    writer.close()
    keeper.close()


def test_the_worker_tells_a_waiter_when_its_next_cycle_starts() -> None:
    """The server's checkpointer waits there (see leadgate.service.checkpoints)."""
    release = threading.Event()
    moment = dt.datetime(2026, 11, 30)
    report = CycleReport(moment, ScoringRun("incremental", moment, 0, 0.0, 1), 0, 0, 0, 0, 0, 0)

    def cycle() -> CycleReport:
        release.wait(10)
        return report

    worker = CycleWorker(cycle, idle_seconds=60)
    worker.start()
    try:
        assert not worker.wait_for_start(0.05)  # no cycle asked for
        waiter: list[bool] = []
        waiting = threading.Thread(target=lambda: waiter.append(worker.wait_for_start(10)))
        waiting.start()
        wait_until(lambda: waiting.is_alive(), 5, "the waiter")
        worker.wake()
        waiting.join(10)
        assert waiter == [True]
    finally:
        release.set()
        worker.stop()


def test_the_checkpointer_checkpoints_while_commits_go_on(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(duckdb_store, "CHECKPOINT_LOG_BYTES", 4 * 1024**2)  # three checkpoints sooner
    writer = DuckDBStore(database)
    checkpointer = Checkpointer(lambda: DuckDBStore(database, migrate=False), every_seconds=0.01)
    checkpointer.start()
    commits, failures = 0, []
    deadline = time.monotonic() + 60
    try:
        while checkpointer.checkpoints < 3 and time.monotonic() < deadline:
            try:
                commit_filler(writer)
                commits += 1
            except Exception as exc:  # any failed commit is what this test looks for
                failures.append(exc)
    finally:
        checkpointer.stop()
    assert failures == []
    assert checkpointer.checkpoints >= 3
    summary = checkpointer.durations.summary()
    assert summary is not None and summary.count == checkpointer.checkpoints
    assert commits * ROWS_PER_COMMIT * len(TEXT) >= 3 * 4 * 1024**2  # each checkpoint had its 4 MiB of log
    writer.close()
    assert stored_filler(database) == commits * ROWS_PER_COMMIT


class RefusingStore(DuckDBStore):
    """A store whose every checkpoint is held up (as by a transaction in the way)."""

    def checkpoint_if_due(self, when_due: Callable[[], object] = lambda: None) -> bool:
        raise StoreError("TransactionException: cannot checkpoint now")


def test_checkpoints_put_off_turn_after_turn_are_logged_and_the_thread_goes_on(
    database: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(checkpoints, "WARN_AFTER_TURNS", 3)
    checkpointer = Checkpointer(lambda: RefusingStore(database, migrate=False), every_seconds=0.01)
    with caplog.at_level("WARNING", logger="leadgate.checkpoints"):
        checkpointer.start()
        try:
            wait_until(lambda: "no checkpoint for 6 turns in a row" in caplog.text, 10, "a second warning")
        finally:
            checkpointer.stop()
    assert "no checkpoint for 3 turns in a row: TransactionException" in caplog.text
    assert checkpointer.checkpoints == 0


def test_a_server_on_duckdb_takes_its_checkpoints_over(tmp_path: Path) -> None:
    with serving(tmp_path / "ws") as served:
        with served.runtime.locked() as store:  # the intake's connection shares the setting: it is the database's
            assert store._one("SELECT current_setting('checkpoint_threshold')") == ("953.6 MiB",)  # 1GB
        assert any(thread.name == "leadgate-checkpoints" for thread in threading.enumerate())
    assert not any(thread.name == "leadgate-checkpoints" for thread in threading.enumerate())


def test_postgresql_has_no_checkpoints_to_take_over(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    assert not store.take_over_checkpoints()
    assert not store.checkpoint_if_due()
    store.close()
    opened: list[PostgresStore] = []

    def open_store() -> PostgresStore:
        opened.append(PostgresStore(postgres_url))
        return opened[-1]

    checkpointer = Checkpointer(open_store)
    checkpointer.start()
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
    assert not any(thread.name == "leadgate-checkpoints" for thread in threading.enumerate())
    assert opened[0].con.closed  # the connection it opened to ask was closed at once
