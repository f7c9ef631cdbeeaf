"""The production store: a PostgreSQL database that several server processes share.

The same tables and the same Ibis expressions as the embedded DuckDB store; what differs is
isolated here and in :mod:`leadgate.store.sql_postgres`:

- statements are written with ``?`` and ``$name`` parameters everywhere in the store; this
  adapter turns them into psycopg's ``%s`` and ``%(name)s`` (:func:`psycopg_query`);
- in-memory rows (Arrow) reach SQL through temporary tables filled with ``COPY``;
- a derived table is replaced by building the new one under another name, then swapping
  names in one transaction (readers see the old table or the new one, never none);
- an event property is read with ``json_extract_path_text`` (DuckDB: ``json_extract_string``);
- processes take turns with advisory locks: one import commit at a time (batch ids and lead
  keys are numbered from the current maximum), one lifecycle writer at a time (a decision's
  version check sees every earlier write), one qualification cycle at a time, one migration;
- psycopg errors become :class:`StoreError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ibis
import ibis.expr.datatypes as ibis_types
import ibis.expr.types as ir
import psycopg
import pyarrow as pa
import pyarrow.csv as arrow_csv
import pyarrow.parquet
from ibis.backends.sql.datatypes import PostgresType
from psycopg.types.numeric import FloatLoader

from leadgate.errors import InputError, StoreError
from leadgate.store import sql_postgres
from leadgate.store.base import STAGED_COLUMNS, BatchResult, Store, identifier, quoted

URL_SCHEMES = ("postgresql", "postgres")

_POSTGRES_TYPES = {
    "text": "TEXT",
    "int64": "BIGINT",
    "float64": "DOUBLE PRECISION",
    "timestamp": "TIMESTAMP",
    "bool": "BOOLEAN",
    "date": "DATE",
}

# Advisory lock keys (one number space per database, shared by every leadgate process).
_LOCKS = {"migrate": 7_401_001, "imports": 7_401_002, "lifecycle": 7_401_003}


@ibis.udf.scalar.builtin(name="json_extract_path_text")
def _json_extract_path_text(document: ibis_types.JSON, key: str) -> str:  # type: ignore[empty-body]
    """PostgreSQL's JSON reader, declared for Ibis."""


def postgres_property_text(document: ir.StringValue, name: str) -> ir.StringValue:
    return _json_extract_path_text(document.cast("json"), name)


def is_postgres_url(location: str | Path) -> bool:
    return isinstance(location, str) and urlsplit(location).scheme in URL_SCHEMES


def shown_url(url: str) -> str:
    """A URL fit for messages: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc[-1]}"))


def psycopg_query(statement: str, parameters: Any) -> str:
    """A statement with ``?`` and ``$name`` marks in psycopg's words (``%s``, ``%(name)s``).

    Marks inside quoted text and identifiers are left alone, and so are ``$1`` and ``$$``.
    Without parameters the statement is sent as it is (psycopg then reads no marks at all).
    """
    if parameters is None:
        return statement
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(statement):
        char = statement[index]
        if statement.startswith("$$", index):  # a dollar-quoted body starts or ends
            quote = None if quote == "$$" else quote or "$$"
            out.append("$$")
            index += 2
            continue
        if quote is not None:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append(char)
        elif char == "%":
            out.append("%%")
        elif char == "?":
            out.append("%s")
        elif (
            char == "$"
            and index + 1 < len(statement)
            and (statement[index + 1].isalpha() or statement[index + 1] == "_")
        ):
            end = index + 1
            while end < len(statement) and (statement[end].isalnum() or statement[end] == "_"):
                end += 1
            out.append(f"%({statement[index + 1 : end]})s")
            index = end
            continue
        else:
            out.append(char)
        index += 1
    return "".join(out)


class PostgresStore(Store):
    """A workspace's facts and derived tables in a PostgreSQL database (given by URL)."""

    engine = "postgres"
    statements = sql_postgres
    column_types = _POSTGRES_TYPES
    property_text = staticmethod(postgres_property_text)

    def __init__(self, url: str, migrate: bool = True) -> None:
        self.url = url
        self.name = shown_url(url)
        self.prepared = {}
        self.recent_queries = OrderedDict()
        self.lead_states_to_rebuild = False
        try:
            # no server-side prepared statements: derived tables are dropped and made again
            self.con = psycopg.connect(url, autocommit=True, prepare_threshold=None)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the database {self.name}: {_first_line(exc)}") from exc
        try:
            # Ibis rounds through NUMERIC (PostgreSQL has no round(double, n)) yet declares a float
            self.con.adapters.register_loader("numeric", FloatLoader)
            self.backend = ibis.postgres.from_connection(self.con)
            if migrate:
                self.migrate()
        except BaseException:
            self.con.close()
            raise

    def close(self) -> None:
        self.con.close()

    def _run(self, statement: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        try:
            with self.con.cursor() as cursor:
                cursor.execute(psycopg_query(statement, parameters), parameters)  # type: ignore[call-overload]
                return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc

    def _inserted(self, statement: str, parameters: Any = None) -> int:
        try:
            with self.con.cursor() as cursor:
                cursor.execute(psycopg_query(statement, parameters), parameters)  # type: ignore[call-overload]
                return max(cursor.rowcount, 0)
        except psycopg.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc

    def query_rows(self, query: str) -> list[dict[str, Any]]:
        try:
            with self.con.cursor() as cursor:
                cursor.execute(query)  # type: ignore[call-overload]
                names = [column.name for column in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except psycopg.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.con.transaction():
                yield
        except psycopg.Error as exc:  # the commit itself failed
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc

    def columns_of(self, table: str) -> list[str]:
        rows = self._run(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return [name for (name,) in rows]

    def has_table(self, name: str) -> bool:
        row = self._one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?",
            [name],
        )
        return bool(row and row[0])

    # -- schema ----------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Under a lock: the server's processes may all open the database at once."""
        with self.transaction():
            self._run("SELECT pg_advisory_xact_lock(?)", [_LOCKS["migrate"]])
            return super().migrate()

    def _engine_objects(self) -> list[str]:
        done = []
        existing = {
            name for (name,) in self._run("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
        }
        for name, target in sql_postgres.INDEXES.items():
            if name not in existing:
                self._run(f"CREATE UNIQUE INDEX {name} ON {target}")
                done.append(f"created index {name}")
        for name, target in sql_postgres.LOOKUP_INDEXES.items():
            if name not in existing:
                self._run(f"CREATE INDEX {name} ON {target}")
                done.append(f"created index {name}")
        functions = {
            name
            for (name,) in self._run("SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace")
        }
        for name, statement in sql_postgres.HELPERS.items():
            if name not in functions:
                self._run(statement)
                done.append(f"created function {name}")
        return done

    # -- processes taking turns ------------------------------------------------------------
    def lock_lifecycle(self) -> None:
        self._run("SELECT pg_advisory_xact_lock(?)", [_LOCKS["lifecycle"]])

    def _lock_imports(self) -> None:
        self._run("SELECT pg_advisory_xact_lock(?)", [_LOCKS["imports"]])

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        key = _LOCKS.get(name, zlib.crc32(name.encode()))
        self._run("SELECT pg_advisory_lock(?)", [key])
        try:
            yield
        finally:
            self._run("SELECT pg_advisory_unlock(?)", [key])

    def is_write_conflict(self, error: BaseException | None) -> bool:
        return isinstance(error, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected))

    # -- in-memory rows --------------------------------------------------------------------
    def _copy_in(self, table: str, rows: pa.Table, columns: list[str] | None = None) -> None:
        """Rows into a table by one ``COPY`` of CSV that Arrow writes: strings quoted, a null
        left empty (an empty string is ``""``), so PostgreSQL's CSV reading tells them apart.
        Written row by row through psycopg it took 17 ms for a commit of 1,400 messages."""
        names = columns or rows.column_names
        text = io.BytesIO()
        arrow_csv.write_csv(rows.select(names), text, arrow_csv.WriteOptions(include_header=False))
        try:
            with (
                self.con.cursor() as cursor,
                cursor.copy(f"COPY {table} ({quoted(names)}) FROM STDIN (FORMAT csv)") as copy,
            ):
                copy.write(text.getbuffer())
        except psycopg.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc

    def _create_for(self, table: str, rows: pa.Table, temporary: bool) -> None:
        columns = ", ".join(f'"{field.name}" {_arrow_type(field.type)}' for field in rows.schema)
        self._run(f"CREATE {'TEMP ' if temporary else ''}TABLE {table} ({columns})")

    @contextmanager
    def registered(self, name: str, rows: pa.Table) -> Iterator[None]:
        table = identifier(name)
        self._run(f"DROP TABLE IF EXISTS {table}")
        self._create_for(table, rows, temporary=True)
        try:
            self._copy_in(table, rows)
            yield
        finally:
            with suppress(StoreError):  # an aborted transaction refuses even this (and drops it anyway)
                self._run(f"DROP TABLE IF EXISTS {table}")

    def append_rows(self, table: str, rows: pa.Table) -> None:
        self._copy_in(identifier(table), rows)
        self._analyze_if_grown(table, rows.num_rows)

    # -- statistics ------------------------------------------------------------------------
    def _analyze_if_grown(self, table: str, added: int) -> None:
        """Refresh a table's planner statistics when it grew by more than a tenth.

        Autovacuum does it too, but later: a cycle right after a large import would be
        planned on tables PostgreSQL believes tiny (nested loops over every event: a full
        scoring of 2,000 leads and 39,000 events took 194 s instead of 1 s).
        """
        if added <= 0:
            return
        row = self._one("SELECT reltuples FROM pg_class WHERE oid = to_regclass(?)", [table])
        known = float(row[0]) if row and row[0] is not None else -1.0
        if known < 0 or added > 50 + 0.1 * known:
            self._run(f"ANALYZE {identifier(table)}")

    def commit_batch(self, kind: str, source: str, rows_read: int, started_at: dt.datetime) -> BatchResult:
        result = super().commit_batch(kind, source, rows_read, started_at)
        self._analyze_if_grown("events", result.events_added)
        self._analyze_if_grown("traits", result.traits_added)
        self._analyze_if_grown("identities", result.identities_added)
        self._analyze_if_grown("person_keys", result.facts_added)
        return result

    def rows_for_keys(self, table: str, columns: list[str], keys: list[int]) -> list[tuple[Any, ...]]:
        if not keys:
            return []
        return self._run(f"SELECT {quoted(columns)} FROM {identifier(table)} WHERE lead_key = ANY(?)", [keys])

    def delete_keys(self, table: str, keys: list[int]) -> None:
        if keys:
            self._run(f"DELETE FROM {identifier(table)} WHERE lead_key = ANY(?)", [keys])

    def next_seqs(self, count: int) -> list[int]:
        return [row[0] for row in self._run("SELECT nextval('lifecycle_seq') FROM generate_series(1, ?)", [count])]

    # -- import batches --------------------------------------------------------------------
    def _create_stage_tables(self) -> None:
        for table, columns in STAGED_COLUMNS.items():
            self._run(f"DROP TABLE IF EXISTS stage_{table}")
            self._run(f"CREATE TEMP TABLE stage_{table} ({self._column_list(columns)})")

    def _append_to_stage(self, table: str, rows: pa.Table) -> None:
        self._copy_in(f"stage_{identifier(table)}", rows, list(STAGED_COLUMNS[table]))

    # -- derived tables --------------------------------------------------------------------
    def _swap_in(self, name: str, build: Any) -> None:
        """Build a table under a spare name with ``build(spare)``, then give it ``name``."""
        table = identifier(name)
        spare = f"{table}__new"
        with self.transaction():
            self._run(f"DROP TABLE IF EXISTS {spare}")
            build(spare)
            self._run(f"DROP TABLE IF EXISTS {table}")
            self._run(f"ALTER TABLE {spare} RENAME TO {table}")
            self._run(f"ANALYZE {table}")  # a new table has no statistics (see _analyze_if_grown)

    def replace_table_as(self, name: str, query: str) -> None:
        self._swap_in(name, lambda spare: self._run(f"CREATE TABLE {spare} AS {query}"))

    def replace_table_from_arrow(self, name: str, rows: pa.Table) -> None:
        def build(spare: str) -> None:
            self._create_for(spare, rows, temporary=False)
            self._copy_in(spare, rows)

        self._swap_in(name, build)

    def table_sql(self, expression: ir.Table, fuse_selects: bool = False) -> str:
        """The SQL of an expression whose columns have the types the expression declares.

        PostgreSQL may answer with another type than Ibis declares (``round`` goes through
        NUMERIC, where Ibis says float64); a table made from the answer would then be read
        back with that other type.
        """
        columns = ", ".join(
            f'CAST("{column}" AS {PostgresType.from_ibis(dtype).sql("postgres")}) AS "{column}"'
            for column, dtype in expression.schema().items()
        )
        return f"SELECT {columns} FROM ({self.sql(expression, fuse_selects)}) AS typed"

    def replace_rows_as(
        self, name: str, query: str, columns: list[str], keys_table: str, key: str = "lead_key"
    ) -> None:
        table = identifier(name)
        with self.transaction():
            self._run(f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {identifier(keys_table)})")
            # The planner believes an incremental scoring's leads are a handful (it cannot estimate
            # a CTE's distinct keys, nor ``first_key = lead_key``), so it joined them to their event
            # aggregates by comparing every lead with every aggregate row: 1,800 leads took 280 ms
            # instead of 116, and cycles that fell behind grew quadratically. Without Materialize
            # it hashes that join and still reads each lead's events through the lead-key index.
            # On a large store its cost also starts JIT compilation, about 190 ms of every run
            # (1.84 s against 1.69 at 1M stored messages) for a statement each cycle runs again.
            self._run("SET LOCAL enable_material = off")
            self._run("SET LOCAL jit = off")
            self._run(f"INSERT INTO {table} ({quoted(columns)}) {query}")

    def export_table(self, name: str, target: Path, columns: list[str] | None = None) -> int:
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise InputError(f"{target}: export to .csv or .parquet")
        table = self.backend.table(identifier(name))
        try:
            rows = (table.select(*columns) if columns else table).to_pyarrow()
        except psycopg.Error as exc:
            raise StoreError(f"{type(exc).__name__}: {_first_line(exc)}") from exc
        if suffix == ".parquet":
            pyarrow.parquet.write_table(rows, target)
        else:
            _write_csv(rows, target)
        return rows.num_rows


def _write_csv(rows: pa.Table, target: Path) -> None:
    """A CSV file written as DuckDB's COPY writes one: a plain header, quotes only where needed,
    ``2026-11-20 10:00:00`` times, ``true``/``false``, nothing for null."""
    with target.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows.column_names)
        for row in zip(*(column.to_pylist() for column in rows.columns), strict=True):
            writer.writerow([_csv_text(value) for value in row])


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _arrow_type(kind: pa.DataType) -> str:
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "TEXT"
    if pa.types.is_integer(kind):
        return "BIGINT"
    if pa.types.is_floating(kind):
        return "DOUBLE PRECISION"
    if pa.types.is_timestamp(kind):
        return "TIMESTAMP"
    if pa.types.is_boolean(kind):
        return "BOOLEAN"
    if pa.types.is_date(kind):
        return "DATE"
    if pa.types.is_null(kind):
        return "TEXT"
    raise StoreError(f"no PostgreSQL column type for Arrow's {kind}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
