"""The embedded store: one DuckDB file in the workspace.

Facts go in through import batches: rows are staged in temporary tables while a file is read,
then :meth:`~leadgate.store.base.Store.commit_batch` adds, in one transaction, only the facts
whose id is new, resolves ids to lead keys and applies aliases. A batch with a bad row is
discarded whole, so the stored facts stay as they were.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, cast

import duckdb
import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from leadgate.errors import InputError, SettingError, StoreError
from leadgate.store import duckdb_direct, sql_duckdb
from leadgate.store.base import STAGED_COLUMNS, BatchResult, Store, identifier, quoted
from leadgate.store.known_ids import Hashes, KnownIds

__all__ = ["STAGED_COLUMNS", "BatchResult", "DuckDBStore", "duckdb_property_text"]

_DUCKDB_TYPES = {
    "text": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
    "date": "DATE",
}

# Lead keys are dense integers (1..N), so grouping every lead can use DuckDB's perfect hash
# aggregate up to 2^20 keys instead of its default 2^12: 40% off the main scoring pass at 1M leads.
WHOLE_TABLE_HASH_BITS = 20
DEFAULT_HASH_BITS = 12

COMPACTED_FROM_ROWS = 10_000  # a temporary table smaller than this is not worth rewriting

# A DuckDB commit checkpoints the database (writes the log's rows into the file) once the log
# passes 16 MiB: in the server, a commit every ~1.5 s at 17,000 messages a second took 60-520 ms
# more, and so did every request waiting for it. A server checkpoints on a thread of its own
# instead (take_over_checkpoints), while commits go on, and at 64 MiB: a checkpoint still holds
# up the commit that comes while it writes the events, and a quarter as many checkpoints, each
# about 2.5 times as long, hold up fewer requests. Commits keep a far larger threshold, in case
# that thread falls behind.
CHECKPOINT_LOG_BYTES = 64 * 1024**2
BACKSTOP_CHECKPOINT = "1GB"

# The stored fact ids' hashes of a database file, kept by a store of this process that asked
# (DuckDBStore.remember_fact_ids); every store of this process on that file keeps them whole.
_KNOWN_IDS: weakref.WeakValueDictionary[str, KnownIds] = weakref.WeakValueDictionary()


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_string(document: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's JSON reader, declared for Ibis."""


def duckdb_property_text(document: ir.StringValue, name: str) -> ir.StringValue:
    return _json_extract_string(document, f"$.{name}")


class DuckDBStore(Store):
    """A workspace's facts and derived tables in one DuckDB file."""

    engine = "duckdb"
    statements = sql_duckdb
    column_types = _DUCKDB_TYPES
    property_text = staticmethod(duckdb_property_text)

    def __init__(
        self,
        path: Path | str,
        read_only: bool = False,
        memory_limit: str | None = None,
        migrate: bool = True,
        threads: int | None = None,
    ) -> None:
        if threads is not None and threads < 1:
            raise SettingError(f"threads {threads}: DuckDB needs at least one thread (0 in the settings: its default)")
        self.path = str(path)
        self._few_leads_depth = 0  # nested few_leads blocks (the setting is the connection's)
        self.name = self.path
        self.prepared = {}
        self.recent_queries = OrderedDict()
        self._statements: dict[str, str] = {}  # SQL -> the name it is prepared under (see _run_prepared)
        self.lead_states_to_rebuild = False
        self._known_ids: KnownIds | None = None  # kept alive here once asked for (see remember_fact_ids)
        self._file_key = str(Path(self.path).resolve())  # the file's name in _KNOWN_IDS
        try:
            self.con = duckdb.connect(self.path, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    "the workspace is in use by another leadgate command (DuckDB has one writer at a time); "
                    "try again when it has finished"
                ) from None
            raise StoreError(f"cannot open the database {Path(self.path).name}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database {Path(self.path).name}: {exc}") from exc
        self._run(f"SET perfect_ht_threshold = {WHOLE_TABLE_HASH_BITS}")
        if memory_limit:
            try:
                self.con.execute(f"SET memory_limit = '{memory_limit.replace(chr(39), '')}'").fetchall()
            except duckdb.Error as exc:
                raise SettingError(f"memory_limit {memory_limit!r}: {exc}") from None
        if threads is not None:
            self._run(f"SET threads = {int(threads)}")  # the database's: every connection to it in this process
        self.backend = ibis.duckdb.from_connection(self.con)
        # Ibis switches DuckDB's replacement scans off; :meth:`_run_reading` needs them. Only a
        # name the catalog lacks is looked up, and only among the locals of the function that
        # runs the statement: in this store, the parameter ``arrow_rows`` alone.
        self._run("SET python_enable_replacements = true")
        if migrate and not read_only:
            self.migrate()

    def close(self) -> None:
        if self._known_ids is not None and _KNOWN_IDS.get(self._file_key) is self._known_ids:
            del _KNOWN_IDS[self._file_key]  # once closed, another process may write the file
        self.con.close()

    def _run(self, statement: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement to completion (DuckDB 2 refuses new work while a result is pending)."""
        try:
            return self.con.execute(statement, parameters).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc

    def _run_reading(self, statement: str, arrow_rows: pa.Table, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement that reads in-memory rows under the name ``arrow_rows``.

        DuckDB looks a name its catalog lacks up among the local variables of the function
        that runs the statement (its replacement scan), so here the rows need no view:
        registering one and dropping it again (:meth:`registered`, the other engines' way)
        cost 0.4 of the 0.95 ms of a 1,000-row insert, and the intake's commits and the
        cycles' writes read rows several times each. One table a statement;
        :meth:`registered` names several.
        """
        try:
            return self.con.execute(statement, parameters).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc

    def _run_prepared(self, statement: str) -> None:
        """Run a long statement that runs again and again (an incremental scoring's insert:
        46 KB of SQL, every cycle) from a prepared copy: DuckDB parses it once instead of each
        time (18 of the 100 ms it took). DuckDB (2.0) binds and plans again every prepared
        statement that scans a table, on every run (one that reads only a VALUES list runs from
        its kept plan): about 38 ms of the scoring insert (13 to bind, 24 to optimise)."""
        name = self._statements.get(statement)
        if name is None:
            name = f"leadgate_prepared_{len(self._statements)}"
            self._run(f"PREPARE {name} AS {statement}")
            self._statements[statement] = name
        self._run(f"EXECUTE {name}")

    def set_variables(self, values: Mapping[str, int]) -> None:
        """Set DuckDB variables (``getvariable`` reads them in a query as constants)."""
        for name, value in values.items():
            self._run(f"SET VARIABLE {identifier(name)} = {int(value)}")

    def take_over_checkpoints(self) -> bool:
        self._run(f"SET checkpoint_threshold = '{BACKSTOP_CHECKPOINT}'")  # the database's, for every connection
        return True

    def checkpoint_if_due(self, when_due: Callable[[], object] = lambda: None) -> bool:
        if self.log_bytes() < CHECKPOINT_LOG_BYTES:
            return False
        when_due()
        self._run("CHECKPOINT")  # writes to the file wait meanwhile; reads and temporary tables do not
        return True

    def log_bytes(self) -> int:
        """The size of the database's log: what commits wrote since the last checkpoint."""
        log = Path(f"{self.path}.wal")
        with suppress(FileNotFoundError):
            return log.stat().st_size
        return 0

    def remember_fact_ids(self) -> None:
        """Keep the hash of every stored fact id in memory (:class:`KnownIds`: 8 bytes a fact),
        so that a commit whose ids are all new adds them without scanning every stored id for
        them (10 ms of a 1,200-message commit at 1M events, and growing with the store).

        Every store of this process on this file keeps them whole: its commits add theirs.
        No other process writes the file meanwhile (DuckDB locks it), and they are forgotten
        when this store closes. An in-memory database is its connection's own: nothing is kept
        for it.
        """
        if self._known_ids is not None or self.path.startswith(":memory:") or not self.path:
            return
        known = _KNOWN_IDS.get(self._file_key)
        if known is None:
            known = KnownIds(self._id_hashes(sql_duckdb.STORED_FACT_ID_HASHES))
            _KNOWN_IDS[self._file_key] = known
        self._known_ids = known

    def commit_tables(
        self, tables: Mapping[str, pa.Table], kind: str, source: str, rows_read: int, started_at: dt.datetime
    ) -> BatchResult:
        """New facts without an alias go straight in (:mod:`leadgate.store.duckdb_direct`);
        any other rows are staged and committed as an import batch."""
        if not duckdb_direct.has_alias(tables) and self._all_new(tables):
            return duckdb_direct.insert_new_facts(self, tables, kind, source, rows_read, started_at)
        return super().commit_tables(tables, kind, source, rows_read, started_at)

    def _all_new(self, tables: Mapping[str, pa.Table]) -> bool:
        """Whether the remembered ids' hashes prove every fact of ``tables`` new, and none comes
        twice (the staging path keeps a fact's first copy). The hashes are remembered either way."""
        if self._known_ids is None or not tables:
            return False
        hashes = self._id_hashes(sql_duckdb.DIRECT_FACT_ID_HASHES, duckdb_direct.fact_ids(tables))
        return not self._known_ids.add_and_check(hashes) and len(np.unique(hashes)) == len(hashes)

    def _fact_inserts(self) -> Sequence[str]:
        known = _KNOWN_IDS.get(self._file_key) if _KNOWN_IDS else None
        if known is None:
            return sql_duckdb.INSERT_STAGED_FACTS
        staged = self._id_hashes(sql_duckdb.STAGED_FACT_ID_HASHES)
        return sql_duckdb.INSERT_STAGED_FACTS if known.add_and_check(staged) else sql_duckdb.INSERT_NEW_STAGED_FACTS

    def _id_hashes(self, query: str, arrow_rows: pa.Table | None = None) -> Hashes:
        """The ``id_hash`` column of ``query``, which may read ``arrow_rows`` (see :meth:`_run_reading`)."""
        try:
            return cast(Hashes, self.con.execute(query).fetchnumpy()["id_hash"])
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc

    def _inserted(self, statement: str, parameters: Any = None) -> int:
        rows = self._run(statement, parameters)  # DuckDB answers an INSERT with its row count
        return int(rows[0][0]) if rows else 0

    def query_rows(self, query: str) -> list[dict[str, Any]]:
        try:
            cursor = self.con.execute(query)
            names = [column[0] for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc

    def columns_of(self, table: str) -> list[str]:
        rows = self._run(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return [name for (name,) in rows]

    def has_table(self, name: str) -> bool:
        """Whether a table or view of that name exists (temporary ones included): the name is
        looked up in the catalog, a fifth of the cost of a query of ``information_schema``
        (0.3 against 1.5 ms; every cycle and every listing asks)."""
        try:
            self.con.table(name)
        except duckdb.CatalogException:
            return False
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc
        return True

    def is_write_conflict(self, error: BaseException | None) -> bool:
        return isinstance(error, duckdb.TransactionException)

    # -- rows by lead key, for the lifecycle store -----------------------------------------
    def append_rows(self, table: str, rows: pa.Table) -> None:
        self._run_reading(f"INSERT INTO {identifier(table)} SELECT * FROM arrow_rows", rows)

    def rows_for_keys(self, table: str, columns: list[str], keys: list[int]) -> list[tuple[Any, ...]]:
        return self._run_reading(
            f"SELECT {', '.join('t.' + c for c in columns)} FROM {identifier(table)} t "
            "SEMI JOIN arrow_rows w USING (lead_key)",
            _keys_table(keys),
        )

    def delete_keys(self, table: str, keys: list[int]) -> None:
        self._run_reading(
            f"DELETE FROM {identifier(table)} WHERE lead_key IN (SELECT lead_key FROM arrow_rows)", _keys_table(keys)
        )

    def next_seqs(self, count: int) -> list[int]:
        return [row[0] for row in self._run(f"SELECT nextval('lifecycle_seq') FROM range({int(count)})")]

    # -- import batches --------------------------------------------------------------------
    def _create_stage_tables(self) -> None:
        for table, columns in STAGED_COLUMNS.items():
            self._run(f"CREATE OR REPLACE TEMP TABLE stage_{table} ({self._column_list(columns)})")

    def _append_to_stage(self, table: str, rows: pa.Table) -> None:
        columns = ", ".join(STAGED_COLUMNS[table])
        self._run_reading(f"INSERT INTO stage_{table} ({columns}) SELECT {columns} FROM arrow_rows", rows)

    @contextmanager
    def registered(self, name: str, rows: pa.Table) -> Iterator[None]:
        self.con.register(name, rows)
        try:
            yield
        finally:
            with suppress(duckdb.Error):  # an aborted transaction refuses even this
                self.con.unregister(name)

    @contextmanager
    def few_leads(self) -> Iterator[None]:
        """DuckDB's default perfect-hash limit instead of the whole-table one this connection uses
        (:data:`WHOLE_TABLE_HASH_BITS`): from a join's key range DuckDB sizes one slot per possible
        key, and a lead page's explanation (twenty keys spread over a million) spent 1.3 s of its
        1.5 s allocating and scanning those slots (0.2 s without)."""
        self._few_leads_depth += 1
        if self._few_leads_depth == 1:
            self._run(f"SET perfect_ht_threshold = {DEFAULT_HASH_BITS}")
        try:
            yield
        finally:
            self._few_leads_depth -= 1
            if self._few_leads_depth == 0:
                with suppress(StoreError):  # an aborted transaction refuses even this
                    self._run(f"SET perfect_ht_threshold = {WHOLE_TABLE_HASH_BITS}")

    @contextmanager
    def parameters(self, name: str, rows: pa.Table) -> Iterator[None]:
        """A temporary table, not an Arrow view: DuckDB plans a view of unknown size badly, and a
        one-lead explanation then computed its event expressions on every event before keeping
        the lead's (0.8 s instead of 0.04 s on 5M events)."""
        table = identifier(name)
        self._run_reading(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM arrow_rows", rows)
        try:
            yield
        finally:
            with suppress(StoreError):  # an aborted transaction refuses even this
                self._run(f"DROP TABLE IF EXISTS {table}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._run("BEGIN TRANSACTION")
        try:
            yield
            self._run("COMMIT")
        except BaseException:
            with suppress(duckdb.Error):
                self.con.execute("ROLLBACK").fetchall()
            raise

    # -- derived tables --------------------------------------------------------------------
    def replace_table_as(self, name: str, query: str) -> None:
        self._run(f"CREATE OR REPLACE TABLE {identifier(name)} AS {query}")

    def replace_scratch_as(self, name: str, query: str) -> None:
        """A temporary table: in memory (spilled to DuckDB's temporary directory when memory is
        short), never written to the database file. The backtest's amounts at 50M events (24M
        rows) took 7 s more to write to the file."""
        self._run(f"CREATE OR REPLACE TEMP TABLE {identifier(name)} AS {query}")

    def replace_table_from_arrow(self, name: str, rows: pa.Table) -> None:
        self._run_reading(f"CREATE OR REPLACE TABLE {identifier(name)} AS SELECT * FROM arrow_rows", rows)

    def replace_scratch_from_arrow(self, name: str, rows: pa.Table) -> None:
        self._run_reading(f"CREATE OR REPLACE TEMP TABLE {identifier(name)} AS SELECT * FROM arrow_rows", rows)

    def replace_rows_as(
        self, name: str, query: str, columns: list[str], keys_table: str, key: str = "lead_key"
    ) -> None:
        table = identifier(name)
        # A few keys spread over the whole key range: a perfect hash table sized for the range
        # would cost more than it saves.
        self._run(f"SET perfect_ht_threshold = {DEFAULT_HASH_BITS}")
        try:
            with self.transaction():
                self._run(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {identifier(keys_table)})")
                self._run_prepared(f"INSERT INTO {table} ({quoted(columns)}) {query}")
        finally:
            self._run(f"SET perfect_ht_threshold = {WHOLE_TABLE_HASH_BITS}")

    def refill_table_as(self, name: str, query: str) -> None:
        """The table is replaced by an empty copy, not emptied with a ``DELETE``: DuckDB keeps
        the rows a ``DELETE`` takes out of a temporary table in memory, which is never
        checkpointed (a worker's state tables grew by 800,000 rows a minute). The insert runs
        from a prepared statement (see :meth:`_run_prepared`)."""
        table = identifier(name)
        self._run(f"CREATE OR REPLACE TEMP TABLE {table} AS FROM {table} LIMIT 0")
        self._run_prepared(f"INSERT INTO {table} {query}")

    def compact_scratch(self, name: str) -> bool:
        """Temporary tables whose rows are replaced a few at a time (the worker's kept state)
        keep their deleted rows in memory (see :meth:`refill_table_as`), and a scan reads past
        them: rewritten once they outnumber the live ones."""
        table = identifier(name)
        held = self._one(
            "SELECT estimated_size FROM duckdb_tables() WHERE temporary AND table_name = ?", [name]
        )  # deleted rows included
        if held is None or int(held[0]) <= 2 * max(self.count(name), COMPACTED_FROM_ROWS):
            return False
        self._run(f"CREATE OR REPLACE TEMP TABLE {table} AS FROM {table}")
        return True

    def export_table(self, name: str, target: Path, columns: list[str] | None = None) -> int:
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError(f"{target}: export to .csv or .parquet")
        selected = ", ".join(columns) if columns else "*"
        options = "(FORMAT PARQUET)" if suffix == ".parquet" else "(HEADER, DELIMITER ',')"
        escaped = str(target).replace("'", "''")
        self._run(f"COPY (SELECT {selected} FROM {identifier(name)}) TO '{escaped}' {options}")
        return self.count(name)


def _keys_table(keys: list[int]) -> pa.Table:
    return pa.table({"lead_key": pa.array(keys, pa.int64())})
