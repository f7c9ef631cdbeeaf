"""The embedded store: one DuckDB file in the workspace.

Facts go in through import batches: rows are staged in temporary tables while a file is read,
then :meth:`DuckDBStore.commit_batch` adds, in one transaction, only the facts whose id is
new, resolves ids to lead keys and applies aliases. A batch with a bad row is discarded
whole, so the stored facts stay as they were.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa

from leadgate.errors import SettingError, StoreError
from leadgate.store import sql_duckdb as sql
from leadgate.store.facts import Facts
from leadgate.store.schema import (
    BOOKKEEPING_TABLES,
    DERIVED_TABLES,
    FACT_TABLES,
    LEAD_STATE_TABLE,
    LIFECYCLE_TABLES,
    SCHEMA_VERSION,
    SERVICE_TABLES,
    Columns,
)

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

STAGED_COLUMNS: dict[str, Columns] = {
    "events": {name: kind for name, kind in FACT_TABLES["events"].items() if name not in ("batch_id", "lead_key")}
    | {"line": "int64"},
    "traits": {name: kind for name, kind in FACT_TABLES["traits"].items() if name not in ("batch_id", "entity_key")},
    "identities": {
        name: kind for name, kind in FACT_TABLES["identities"].items() if name not in ("batch_id", "entity_key")
    },
}


@ibis.udf.scalar.builtin(name="json_extract_string")
def _json_extract_string(document: str, path: str) -> str:  # type: ignore[empty-body]
    """DuckDB's JSON reader, declared for Ibis."""


def duckdb_property_text(document: ir.StringValue, name: str) -> ir.StringValue:
    return _json_extract_string(document, f"$.{name}")


@dataclass
class BatchResult:
    """What one committed import batch added."""

    batch_id: int
    rows_read: int
    events_added: int
    traits_added: int
    identities_added: int
    aliases_applied: int

    @property
    def facts_added(self) -> int:
        return self.events_added + self.traits_added + self.identities_added


class DuckDBStore:
    """A workspace's facts and derived tables in one DuckDB file."""

    engine = "duckdb"

    def __init__(self, path: Path | str, read_only: bool = False, memory_limit: str | None = None) -> None:
        self.path = str(path)
        self.lead_states_to_rebuild = False  # set when an upgrade dropped lead_state (see _migrate)
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
        self.backend = ibis.duckdb.from_connection(self.con)
        if not read_only:
            self._migrate()

    def close(self) -> None:
        self.con.close()

    def _run(self, statement: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement to completion (DuckDB 2 refuses new work while a result is pending)."""
        try:
            return self.con.execute(statement, parameters).fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc

    def _one(self, statement: str, parameters: Any = None) -> tuple[Any, ...] | None:
        rows = self._run(statement, parameters)
        return rows[0] if rows else None

    # -- schema ------------------------------------------------------------------------
    def _migrate(self) -> None:
        found = self._one("SELECT value FROM meta WHERE key = 'schema_version'") if self.has_table("meta") else None
        if found is not None and int(found[0]) < 2:  # the engine's output changed: the next scoring runs in full
            self._run("DROP TABLE IF EXISTS lead_scores")
        stale_states = self._columns_differ(LEAD_STATE_TABLE, DERIVED_TABLES[LEAD_STATE_TABLE])
        if stale_states:  # derived data: LifecycleStore recomputes it from the facts when it opens
            self._run("DROP TABLE lead_state")
            self.lead_states_to_rebuild = True
        for name, columns in {
            **FACT_TABLES,
            **LIFECYCLE_TABLES,
            **DERIVED_TABLES,
            **BOOKKEEPING_TABLES,
            **SERVICE_TABLES,
        }.items():
            self._run(f"CREATE TABLE IF NOT EXISTS {name} ({_column_list(columns)})")
        self._run("CREATE SEQUENCE IF NOT EXISTS lifecycle_seq")
        for table, columns in BOOKKEEPING_TABLES.items():  # columns added since a table was created
            for name, kind in columns.items():
                self._run(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{name}" {_DUCKDB_TYPES[kind]}')
        if found is None:
            self._run("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif int(found[0]) < SCHEMA_VERSION:  # new tables were created above, derived ones dropped
            self._run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
        elif int(found[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer leadgate (schema {found[0]}); upgrade leadgate to use it"
            )

    def _columns_differ(self, table: str, columns: Columns) -> bool:
        """Whether ``table`` exists with other columns than ``columns`` (a derived table to rebuild)."""
        rows = self._run(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return bool(rows) and [name for (name,) in rows] != list(columns)

    # -- reading ---------------------------------------------------------------------------
    def facts(self) -> Facts:
        backend = self.backend
        return Facts(
            backend=backend,
            events=backend.table("events"),
            traits=backend.table("traits"),
            identities=backend.table("identities"),
            person_keys=backend.table("person_keys"),
            property_text=duckdb_property_text,
            engine=self.engine,
        )

    def count(self, table: str) -> int:
        row = self._one(f"SELECT count(*) FROM {_identifier(table)}")
        return int(row[0]) if row else 0

    def lead_key_of(self, lead_id: str) -> int | None:
        """The key of a lead id (None: no such lead)."""
        row = self._one(
            "SELECT lead_key FROM person_keys WHERE id_kind = 'user' AND id_value = ? AND first_key = lead_key",
            [lead_id],
        )
        return int(row[0]) if row else None

    def events_of(self, lead_key: int, limit: int) -> tuple[int, list[tuple[Any, ...]]]:
        """A lead's event count and its latest ``limit`` events: (time, name, path, properties)."""
        total = self._one("SELECT count(*) FROM events WHERE lead_key = ?", [lead_key])
        latest = self._run(
            "SELECT ts, event, path, properties FROM events WHERE lead_key = ? ORDER BY ts DESC, message_id LIMIT ?",
            [lead_key, limit],
        )
        return (int(total[0]) if total else 0), latest

    def lead_row(self, table: str, lead_key: int) -> dict[str, Any]:
        """One lead's row of a per-lead table, by column name (empty when there is none)."""
        try:
            cursor = self.con.execute(f"SELECT * FROM {_identifier(table)} WHERE lead_key = ? LIMIT 1", [lead_key])
            rows = cursor.fetchall()
        except duckdb.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {exc}") from exc
        names = [column[0] for column in cursor.description or []]
        return dict(zip(names, rows[0], strict=True)) if rows else {}

    def has_table(self, name: str) -> bool:
        row = self._one("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name])
        return bool(row and row[0])

    # -- import batches --------------------------------------------------------------------
    def begin_batch(self) -> None:
        """Create empty staging tables for one import."""
        for table, columns in STAGED_COLUMNS.items():
            self._run(f"CREATE OR REPLACE TEMP TABLE stage_{table} ({_column_list(columns)})")

    def stage(self, table: str, rows: pa.Table) -> None:
        """Append validated rows to a staging table (their columns in STAGED_COLUMNS order)."""
        with self.registered("staged_rows", rows):
            columns = ", ".join(STAGED_COLUMNS[table])
            self._run(f"INSERT INTO stage_{table} ({columns}) SELECT {columns} FROM staged_rows")

    def discard_batch(self) -> None:
        for table in STAGED_COLUMNS:
            self._run(f"DROP TABLE IF EXISTS stage_{table}")

    def commit_batch(self, kind: str, source: str, rows_read: int, started_at: dt.datetime) -> BatchResult:
        """Add the staged facts that are new, in one transaction; nothing on failure."""
        counts_before = {table: self.count(table) for table in FACT_TABLES}
        try:
            with self.transaction():
                batch_id = self._next_id("imports", "batch_id")
                self._run(sql.ASSIGN_PERSON_KEYS)
                aliases = self._apply_aliases()
                for statement in sql.INSERT_STAGED_FACTS:
                    self._run(statement, [batch_id])
                self._run(
                    "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [batch_id, kind, source, started_at, _utc_now(), rows_read, 0],
                )
                added = {table: self.count(table) - counts_before[table] for table in FACT_TABLES}
                total = added["events"] + added["traits"] + added["identities"]
                self._run("UPDATE imports SET rows_added = ? WHERE batch_id = ?", [total, batch_id])
        finally:
            self.discard_batch()
        return BatchResult(batch_id, rows_read, added["events"], added["traits"], added["identities"], aliases)

    def _apply_aliases(self) -> int:
        """Merge the keys that new alias facts link; repeat until chains are followed."""
        applied = 0
        for _ in range(20):
            self._run(sql.ALIAS_MOVES)
            moves = self._one("SELECT count(*) FROM alias_moves")
            if not moves or moves[0] == 0:
                break
            applied += int(moves[0])
            for statement in sql.APPLY_ALIAS_MOVES:
                self._run(statement)
        self._run("DROP TABLE IF EXISTS alias_moves")
        return applied

    def _next_id(self, table: str, column: str) -> int:
        row = self._one(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")
        return int(row[0]) if row else 1

    @contextmanager
    def registered(self, name: str, rows: pa.Table) -> Iterator[None]:
        """In-memory rows visible to SQL as ``name`` for the duration of the block."""
        self.con.register(name, rows)
        try:
            yield
        finally:
            with suppress(duckdb.Error):  # an aborted transaction refuses even this
                self.con.unregister(name)

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
    def sql(self, expression: ir.Table, fuse_selects: bool = False) -> str:
        """The DuckDB SQL of an Ibis expression.

        By default without Ibis's merging of nested selects: the merging is more than half the
        time to compile a scoring expression (0.34 against 0.14 s), which is most of the cost of
        scoring a few thousand leads; over many leads the merged query runs about 5% faster
        (8.2 s against 8.7 s for 1M leads and 50M events, with ``make bench``'s data), so a
        full scoring of a large store asks for it (``fuse_selects=True``).
        """
        fuse = ibis.options.sql.fuse_selects
        ibis.options.sql.fuse_selects = fuse_selects
        try:
            return str(self.backend.compile(expression))
        finally:
            ibis.options.sql.fuse_selects = fuse

    def replace_table(self, name: str, expression: ir.Table, fuse_selects: bool = False) -> None:
        """Materialise an Ibis expression as a table of this store (derived data only); see
        :meth:`sql` for ``fuse_selects``."""
        self._run(f"CREATE OR REPLACE TABLE {_identifier(name)} AS {self.sql(expression, fuse_selects)}")

    def replace_table_from_arrow(self, name: str, rows: pa.Table) -> None:
        """Store in-memory rows as a (derived or bookkeeping) table, replacing it."""
        with self.registered("arrow_rows", rows):
            self._run(f"CREATE OR REPLACE TABLE {_identifier(name)} AS SELECT * FROM arrow_rows")

    def export_facts(self, directory: Path) -> list[Path]:
        """Write the fact and identity tables as Parquet files (for Spark or an archive)."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name in (*FACT_TABLES, *DERIVED_TABLES):
            target = directory / f"{name}.parquet"
            self.export_table(name, target)
            written.append(target)
        return written

    def replace_rows(self, name: str, expression: ir.Table, keys: ir.Table, key: str = "lead_key") -> None:
        """Swap the rows of a derived table whose ``key`` is in ``keys`` for ``expression``'s rows."""
        self.replace_table("replacement_keys", keys.select(key).distinct())
        compiled = self.sql(expression)
        table = _identifier(name)
        # A few keys spread over the whole key range: a perfect hash table sized for the range
        # would cost more than it saves.
        self._run(f"SET perfect_ht_threshold = {DEFAULT_HASH_BITS}")
        try:
            with self.transaction():
                self._run(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM replacement_keys)")
                self._run(f"INSERT INTO {table} BY NAME {compiled}")
        finally:
            self._run(f"SET perfect_ht_threshold = {WHOLE_TABLE_HASH_BITS}")
            self._run("DROP TABLE IF EXISTS replacement_keys")

    def account_traits_changed_since(self, batch_id: int) -> bool:
        """Whether an import batch after ``batch_id`` learnt an account trait."""
        row = self._one("SELECT 1 FROM traits WHERE batch_id > ? AND entity_type = 'account' LIMIT 1", [batch_id])
        return row is not None

    def touched_lead_keys(self, since_batch: int, since_seq: int) -> ir.Table:
        """The lead keys named by facts of import batches after ``since_batch``, and the leads
        whose engagement restarted after lifecycle fact ``since_seq``."""
        self._run(sql.TOUCHED_LEAD_KEYS, {"since": since_batch, "since_seq": since_seq})
        return self.backend.table("touched_keys")

    def record_scoring_run(self, run: dict[str, object]) -> None:
        run_id = self._next_id("scoring_runs", "run_id")
        columns = list(BOOKKEEPING_TABLES["scoring_runs"])
        values = [run_id, *(run[name] for name in columns[1:])]
        self._run(f"INSERT INTO scoring_runs VALUES ({', '.join('?' for _ in columns)})", values)

    def last_scoring_run(self) -> dict[str, object] | None:
        row = self._one("SELECT * FROM scoring_runs ORDER BY run_id DESC LIMIT 1")
        if row is None:
            return None
        return dict(zip(BOOKKEEPING_TABLES["scoring_runs"], row, strict=True))

    def export_table(self, name: str, target: Path, columns: list[str] | None = None) -> int:
        """Write a table to ``target`` (.csv or .parquet); returns the number of rows."""
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            from leadgate.errors import InputError

            raise InputError(f"{target}: export to .csv or .parquet")
        selected = ", ".join(columns) if columns else "*"
        options = "(FORMAT PARQUET)" if suffix == ".parquet" else "(HEADER, DELIMITER ',')"
        quoted = str(target).replace("'", "''")
        self._run(f"COPY (SELECT {selected} FROM {_identifier(name)}) TO '{quoted}' {options}")
        return self.count(name)

    def restarted_since(self, seq: int) -> bool:
        """Whether a lead's engagement restarted (a recycle) after lifecycle fact ``seq``."""
        row = self._one("SELECT count(*) FROM transitions WHERE reset_engagement AND seq > ?", [seq])
        return bool(row and row[0])

    def last_lifecycle_seq(self) -> int:
        row = self._one("SELECT coalesce(max(seq), 0) FROM transitions")
        return int(row[0]) if row else 0

    def last_batch_id(self) -> int:
        row = self._one("SELECT coalesce(max(batch_id), 0) FROM imports")
        return int(row[0]) if row else 0

    # -- personal data ---------------------------------------------------------------------
    def erase_person(self, lead_id: str, at: dt.datetime) -> int:
        """Remove a lead's personal data from every table; keep anonymous facts for counts.

        Returns the lead key that was erased. Traits and identities of the person are
        deleted; their events keep their time, name and lead key (funnel counts stay right)
        but lose every id and property.
        """
        row = self._one("SELECT lead_key FROM person_keys WHERE id_kind = 'user' AND id_value = ?", [lead_id])
        if row is None:
            from leadgate.errors import NotFound

            raise NotFound(f"no lead with the id {lead_id!r}")
        lead_key = int(row[0])
        with self.transaction():
            for statement in sql.ERASE_PERSON:
                parameters = {"lead_key": lead_key, "at": at}
                self._run(statement, {name: value for name, value in parameters.items() if f"${name}" in statement})
        return lead_key


def _column_list(columns: Columns) -> str:
    return ", ".join(f'"{name}" {_DUCKDB_TYPES[kind]}' for name, kind in columns.items())


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"not a table name: {name!r}")
    return name


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
