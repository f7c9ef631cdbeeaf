"""The stored fact ids' hashes a server keeps so that a commit of new ids skips looking them up."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from leadgate.ingest.rows import EventRow, Row, TraitRow
from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers
from leadgate.store import sql_duckdb
from leadgate.store.base import BatchResult
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.known_ids import KnownIds

MOMENT = dt.datetime(2026, 11, 2, 9)


def hashes(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def test_a_hash_is_known_once_added_and_never_before() -> None:
    known = KnownIds(hashes(10, 30))
    assert known.add_and_check(hashes(20, 40)) is False
    assert known.add_and_check(hashes(50, 20)) is True  # 20 came in the previous call
    assert known.add_and_check(hashes(30)) is True  # from the start
    assert known.add_and_check(hashes(0, 2**64 - 1)) is False  # the ends of the range
    assert known.add_and_check(hashes(2**64 - 1)) is True
    assert known.add_and_check(hashes()) is False
    assert len(known) == 10  # every hash of every call (2 + 2 + 2 + 1 + 2 + 1), repeats included


def test_after_many_merges_every_added_hash_is_found_and_no_other() -> None:
    rng = np.random.default_rng(7)
    start = rng.integers(0, 2**64 - 1, 5_000, dtype=np.uint64)
    known = KnownIds(start)
    added = [start]
    for size in rng.integers(1, 400, 200):
        batch = rng.integers(0, 2**64 - 1, size, dtype=np.uint64)
        assert known.add_and_check(batch) is False  # 64-bit random draws: no repeat among ~45k
        added.append(batch)
    everything = np.concatenate(added)
    # the runs are sorted, hold exactly what was added, and stay few (a binary counter's)
    assert np.array_equal(np.sort(np.concatenate(known._runs)), np.sort(everything))
    assert all(np.all(run[:-1] <= run[1:]) for run in known._runs)
    assert len(known._runs) <= int(np.log2(len(everything))) + 1
    for batch in rng.choice(everything, (50, 3)):
        assert known.add_and_check(batch) is True
    assert known.add_and_check(np.array([everything.max() + np.uint64(1)], dtype=np.uint64)) is False


def commit(store: DuckDBStore, rows: list[Row]) -> BatchResult:
    store.begin_batch()
    buffers = empty_buffers()
    buffer_rows(buffers, rows, 1)
    stage_buffers(store, buffers)
    return store.commit_batch("test", "test", len(rows), MOMENT)


def visit(message_id: str) -> EventRow:
    return EventRow(message_id, "page", "page_view", "ann", None, MOMENT, MOMENT, "/", None, None, None, None)


def trait(fact_id: str, value: str) -> TraitRow:
    return TraitRow(fact_id, "lead", "ann", "role", value, MOMENT)


def added(result: BatchResult) -> tuple[int, int]:
    return result.events_added, result.traits_added


def test_a_store_that_remembers_ids_adds_no_fact_twice_whoever_stored_it_first(tmp_path: Path) -> None:
    """Ids stored before it remembered, by itself since, and by another store of the same file
    since: a second copy of each adds nothing."""
    path = tmp_path / "leadgate.duckdb"
    server, other = DuckDBStore(path), DuckDBStore(path)
    try:
        assert added(commit(server, [visit("before"), trait("t-before", "cto")])) == (1, 1)
        server.remember_fact_ids()
        assert added(commit(server, [visit("mine"), trait("t-mine", "cfo")])) == (1, 1)
        assert added(commit(other, [visit("other's"), trait("t-other", "ceo")])) == (1, 1)
        # one at a time: a commit with one id that may be stored looks them all up
        for row in (
            visit("before"),
            visit("mine"),
            visit("other's"),
            trait("t-before", "cto"),
            trait("t-other", "ceo"),
        ):
            assert added(commit(server, [row])) == (0, 0), row
        assert added(commit(other, [visit("new"), trait("t-mine", "cfo")])) == (1, 0)
        assert added(commit(server, [visit("new")])) == (0, 0)
        assert server.count("events") == 4 and server.count("traits") == 3
    finally:
        server.close()
        other.close()


def test_a_commit_looks_ids_up_only_when_one_may_be_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DuckDBStore(tmp_path / "leadgate.duckdb")
    chosen: list[object] = []
    choose = store._fact_inserts
    monkeypatch.setattr(store, "_fact_inserts", lambda: chosen.append(choose()) or chosen[-1])
    try:
        assert added(commit(store, [visit("a")])) == (1, 0)
        store.remember_fact_ids()
        assert added(commit(store, [visit("b"), visit("c")])) == (2, 0)
        assert added(commit(store, [visit("d"), visit("a")])) == (1, 0)
        assert added(commit(store, [visit("e"), visit("e")])) == (1, 0)  # twice in one batch: the first copy
        assert added(commit(store, [trait("t-e", "cto"), visit("b")])) == (0, 1)
        look_up, new_only = sql_duckdb.INSERT_STAGED_FACTS, sql_duckdb.INSERT_NEW_STAGED_FACTS
        assert chosen == [look_up, new_only, look_up, new_only, look_up]  # the first: not remembering yet
    finally:
        store.close()


def test_an_in_memory_database_keeps_no_hashes() -> None:
    store = DuckDBStore(":memory:")
    try:
        store.remember_fact_ids()
        assert store._known_ids is None
        assert added(commit(store, [visit("a")])) == (1, 0)
        assert added(commit(store, [visit("a")])) == (0, 0)
    finally:
        store.close()


def test_hashes_are_forgotten_when_their_store_closes_as_another_process_may_write_then(tmp_path: Path) -> None:
    path = tmp_path / "leadgate.duckdb"
    server = DuckDBStore(path)
    server.remember_fact_ids()
    assert added(commit(server, [visit("a")])) == (1, 0)
    server.close()
    writer = (
        "import datetime as dt, sys\n"
        "from leadgate.ingest.rows import EventRow\n"
        "from leadgate.ingest.staging import buffer_rows, empty_buffers, stage_buffers\n"
        "from leadgate.store.duckdb_store import DuckDBStore\n"
        "store = DuckDBStore(sys.argv[1])\n"
        "moment = dt.datetime(2026, 11, 2, 9)\n"
        "store.begin_batch()\n"
        "buffers = empty_buffers()\n"
        "row = EventRow('b', 'page', 'page_view', 'ann', None, moment, moment, '/', None, None, None, None)\n"
        "buffer_rows(buffers, [row], 1)\n"
        "stage_buffers(store, buffers)\n"
        "print(store.commit_batch('test', 'test', 1, moment).events_added)\n"
    )
    done = subprocess.run([sys.executable, "-c", writer, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "1"
    again = DuckDBStore(path)
    try:
        again.remember_fact_ids()
        assert added(commit(again, [visit("b")])) == (0, 0)  # the other process's fact
        assert again.count("events") == 2
    finally:
        again.close()
