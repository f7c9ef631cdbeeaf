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
