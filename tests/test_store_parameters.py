"""Parameter and scratch tables, the planning of few-lead queries and kept SQL, on every engine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from leadgate.errors import StoreError
from leadgate.store.base import RECENT_QUERIES, Store
from leadgate.store.duckdb_store import DEFAULT_HASH_BITS, WHOLE_TABLE_HASH_BITS, DuckDBStore


def test_parameters_are_a_table_for_the_block_only(store: Store) -> None:
    rows = pa.table({"lead_key": pa.array([3, 5], pa.int64())})
    with store.parameters("wanted_now", rows):
        assert store._run("SELECT sum(lead_key) FROM wanted_now") == [(8,)]
    with pytest.raises(StoreError):
        store._run("SELECT * FROM wanted_now")


def test_duckdb_reads_in_memory_rows_in_the_statement_given_them_and_nowhere_else(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "rows.duckdb")
    try:
        arrow_rows = pa.table({"n": pa.array([1, 2, 3], pa.int64())})  # a caller's variable of the same name
        assert len(arrow_rows) == 3
        assert store._run_reading("SELECT sum(n) FROM arrow_rows", pa.table({"n": pa.array([5], pa.int64())})) == [(5,)]
        with pytest.raises(StoreError, match="arrow_rows does not exist"):  # not the caller's variable
            store._run("SELECT sum(n) FROM arrow_rows")
        with pytest.raises(duckdb.CatalogException, match="arrow_rows does not exist"):  # nor Ibis's queries
            store.backend.sql("SELECT sum(n) AS total FROM arrow_rows").to_pyarrow()
    finally:
        store.close()


def test_a_scratch_table_holds_its_rows_for_the_block_only_and_never_reaches_a_duckdb_file(store: Store) -> None:
    with store.parameters("wanted_now", pa.table({"lead_key": pa.array([3, 5, 7], pa.int64())})):
        wanted = store.backend.table("wanted_now")
        with store.scratch("backtest_scratch", wanted.filter(wanted.lead_key > 4)) as table:
            store._run("DELETE FROM wanted_now")  # the rows were copied: the scratch table keeps them
            assert store.query_rows(store.sql(table.aggregate(total=table.lead_key.sum()))) == [{"total": 12}]
            if isinstance(store, DuckDBStore):  # a temporary table, in memory
                found = store._run("SELECT database_name FROM duckdb_tables() WHERE table_name = 'backtest_scratch'")
                assert found == [("temp",)]
    assert not store.has_table("backtest_scratch")
    with pytest.raises(StoreError):
        store._run("SELECT * FROM backtest_scratch")


def test_has_table_finds_tables_and_views_and_nothing_else(store: Store) -> None:
    assert store.has_table("events") and not store.has_table("no_such_table")
    store._run("CREATE VIEW wanted_view AS SELECT * FROM events")
    try:
        assert store.has_table("wanted_view")
    finally:
        store._run("DROP VIEW wanted_view")
    assert not store.has_table("wanted_view")
    if isinstance(store, DuckDBStore):  # the connection's temporary tables too, as before the catalog lookup
        with store.parameters("wanted_now", pa.table({"lead_key": pa.array([3], pa.int64())})):
            assert store.has_table("wanted_now")
        assert not store.has_table("wanted_now")


def test_few_leads_narrows_perfect_hash_aggregates_and_widens_them_back_even_nested(store: Store) -> None:
    if not isinstance(store, DuckDBStore):
        with store.few_leads():  # nothing to change on PostgreSQL: its planner uses the indexes
            assert store._run("SELECT 1") == [(1,)]
        return

    def threshold() -> int:
        return int(store._run("SELECT current_setting('perfect_ht_threshold')")[0][0])

    assert threshold() == WHOLE_TABLE_HASH_BITS == 20  # whole-table scoring groups up to 2^20 dense keys
    with store.few_leads():
        with store.few_leads():
            assert threshold() == DEFAULT_HASH_BITS == 12
        assert threshold() == 12  # the inner block's end leaves the outer one's setting
    assert threshold() == 20


def test_sql_built_from_request_values_is_kept_for_the_most_recent_keys_only(store: Store) -> None:
    compiled: list[int] = []

    def compile_for(number: int) -> str:
        compiled.append(number)
        return f"SELECT {number} AS n"

    for number in range(RECENT_QUERIES):
        assert store.kept_recent(("n", number), lambda number=number: compile_for(number)) == f"SELECT {number} AS n"
    store.kept_recent(("n", 0), lambda: compile_for(-1))  # kept: not compiled again, and now the most recent
    assert compiled == list(range(RECENT_QUERIES))
    store.kept_recent(("n", RECENT_QUERIES), lambda: compile_for(RECENT_QUERIES))  # one too many: 1 goes
    store.kept_recent(("n", 0), lambda: compile_for(-1))
    store.kept_recent(("n", 1), lambda: compile_for(1))
    assert compiled == [*range(RECENT_QUERIES), RECENT_QUERIES, 1]
    assert store.query_rows(store.kept_recent(("n", 1), lambda: compile_for(-1))) == [{"n": 1}]


def test_duckdb_temporary_tables_give_back_the_rows_they_no_longer_hold(tmp_path: Path) -> None:
    """DuckDB keeps the rows a DELETE takes out of a temporary table while another connection
    writes, and scans read past them: a refilled table starts empty instead, and a table whose
    deleted rows outnumber its live ones is rewritten with its live rows only."""
    store = DuckDBStore(tmp_path / "scratch.duckdb")
    writer = DuckDBStore(tmp_path / "scratch.duckdb")  # the server's intake, on its own connection

    def held(name: str) -> int:  # rows in the table's storage, deleted ones included
        return int(store._run(f"SELECT estimated_size FROM duckdb_tables() WHERE table_name = '{name}'")[0][0])

    try:
        writer._run("CREATE TABLE facts (n BIGINT)")
        writer._run("BEGIN")
        writer._run("INSERT INTO facts VALUES (1)")  # a transaction under way all along
        store.replace_scratch_as("kept", "SELECT range AS lead_key, range * 2 AS value FROM range(30000)")
        store._run("DELETE FROM kept WHERE lead_key % 3 <> 0")
        assert store.count("kept") == 10000 and held("kept") == 30000
        assert store.compact_scratch("kept")
        assert held("kept") == 10000
        assert store._run("SELECT sum(value) FROM kept") == [(sum(2 * n for n in range(0, 30000, 3)),)]
        assert not store.compact_scratch("kept")  # nothing deleted since

        store._run("DELETE FROM kept WHERE lead_key < 3000")  # 1,000 of 10,000: not worth rewriting
        assert not store.compact_scratch("kept") and held("kept") == 10000

        for _ in range(3):
            store.refill_table_as("kept", "SELECT range AS lead_key, 1 AS value FROM range(5000)")
        assert store.count("kept") == 5000 and held("kept") == 5000
        writer._run("COMMIT")
    finally:
        writer.close()
        store.close()
