"""What every writable store does, whatever engine holds it (DuckDB, PostgreSQL).

Code above the store is written against :class:`Store`. The work that is the same on every
engine lives here, in terms of a few primitives each adapter provides: running a statement
(``?`` marks a positional parameter, ``$name`` a named one, on every engine), a transaction,
in-memory rows visible to SQL, and the engine's own statements of an import commit
(``self.statements``: a module such as :mod:`leadgate.store.sql_duckdb`).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.compute as pc

from leadgate.errors import NotFound, StoreError
from leadgate.store.facts import Facts, PropertyReader
from leadgate.store.schema import (
    BOOKKEEPING_TABLES,
    DERIVED_TABLES,
    FACT_TABLES,
    LEAD_STATE_TABLE,
    LIFECYCLE_TABLES,
    MODEL_TABLES,
    SCHEMA_VERSION,
    SERVICE_TABLES,
    Columns,
)

STAGED_COLUMNS: dict[str, Columns] = {
    "events": {name: kind for name, kind in FACT_TABLES["events"].items() if name not in ("batch_id", "lead_key")}
    | {"line": "int64"},
    "traits": {name: kind for name, kind in FACT_TABLES["traits"].items() if name not in ("batch_id", "entity_key")},
    "identities": {
        name: kind for name, kind in FACT_TABLES["identities"].items() if name not in ("batch_id", "entity_key")
    },
}


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


def all_tables() -> dict[str, Columns]:
    return {**FACT_TABLES, **LIFECYCLE_TABLES, **DERIVED_TABLES, **BOOKKEEPING_TABLES, **MODEL_TABLES, **SERVICE_TABLES}


Kept = TypeVar("Kept")
RECENT_QUERIES = 256  # SQL built from requests' values that a connection keeps (see Store.kept_recent)
PREDICTIONS_TABLE = "lead_predictions"  # see leadgate.predict.model_store


@runtime_checkable
class EventStateStore(Protocol):
    """What a store needs to keep the leads' event state between incremental runs (see
    :func:`leadgate.service.kept_state.keeps_event_state`): DuckDB's adapter has it."""

    def set_variables(self, values: Mapping[str, int]) -> None:
        """Set query variables, which a query reads as constants."""

    def refill_table_as(self, name: str, query: str) -> None:
        """Empty temporary table ``name`` and insert the rows of ``query``."""

    def compact_scratch(self, name: str) -> bool:
        """Rewrite temporary table ``name`` if it holds more deleted rows than live ones;
        whether it did."""


class Store(ABC):
    """A workspace's facts, lifecycle facts and derived tables in one database."""

    engine: str
    backend: Any  # the Ibis backend over this store's connection
    statements: ModuleType  # the engine's import and erasure statements
    column_types: dict[str, str]  # leadgate's column kinds as the engine's types
    property_text: PropertyReader
    lead_states_to_rebuild = False  # set when an upgrade dropped lead_state (see migrate)
    name: str  # how messages name the database
    prepared: dict[Hashable, Any]  # SQL compiled once and reused on this connection, by what it came from
    recent_queries: OrderedDict[Hashable, str]  # SQL built from requests' values (see kept_recent)
    _staged_counts: dict[str, int]  # rows staged per fact table since begin_batch
    _stages_an_alias: bool  # whether an alias is among them

    # -- primitives ------------------------------------------------------------------------
    @abstractmethod
    def _run(self, statement: str, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement to completion; its rows (none for a statement without a result)."""

    def _one(self, statement: str, parameters: Any = None) -> tuple[Any, ...] | None:
        rows = self._run(statement, parameters)
        return rows[0] if rows else None

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: the statements run in the block commit together or not at all."""

    @abstractmethod
    def registered(self, name: str, rows: pa.Table) -> AbstractContextManager[None]:
        """In-memory rows visible to SQL as ``name`` for the duration of the block."""

    def _run_reading(self, statement: str, arrow_rows: pa.Table, parameters: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement that reads in-memory rows under the name ``arrow_rows``."""
        with self.registered("arrow_rows", arrow_rows):
            return self._run(statement, parameters)

    def few_leads(self) -> AbstractContextManager[None]:
        """Queries in the block read a handful of leads among many (a lead page): plan them so
        (see :meth:`DuckDBStore.few_leads`)."""
        return nullcontext()

    def parameters(self, name: str, rows: pa.Table) -> AbstractContextManager[None]:
        """A few rows that kept queries read (a lead, a moment), visible as ``name`` for the block,
        as a table the planner knows the size of (see :meth:`DuckDBStore.parameters`)."""
        return self.registered(name, rows)

    @abstractmethod
    def has_table(self, name: str) -> bool: ...

    @abstractmethod
    def columns_of(self, table: str) -> list[str]:
        """A table's column names in order (empty: no such table)."""

    @abstractmethod
    def append_rows(self, table: str, rows: pa.Table) -> None:
        """Append in-memory rows (with every column of ``table``, in order) to a table."""

    @abstractmethod
    def rows_for_keys(self, table: str, columns: list[str], keys: list[int]) -> list[tuple[Any, ...]]:
        """``columns`` of the rows of ``table`` whose lead_key is one of ``keys``."""

    @abstractmethod
    def delete_keys(self, table: str, keys: list[int]) -> None:
        """Delete the rows of ``table`` whose lead_key is one of ``keys``."""

    @abstractmethod
    def next_seqs(self, count: int) -> list[int]:
        """``count`` new numbers of the lifecycle sequence."""

    def lock_lifecycle(self) -> None:
        """Inside a transaction: wait until no other process writes lifecycle facts (until commit).
        One process alone writes an embedded store: nothing to wait for."""
        return None

    def is_write_conflict(self, error: BaseException | None) -> bool:
        """Whether a driver error means another transaction changed the same rows first."""
        return False

    def exclusive(self, name: str) -> AbstractContextManager[None]:
        """One process at a time in the block (several server processes share a PostgreSQL store);
        re-entrant: a block inside another of the same name on the same store does not wait."""
        return nullcontext()

    # -- schema ----------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        """The schema version the database holds (None: a database leadgate never wrote)."""
        if not self.has_table("meta"):
            return None
        found = self._one("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(found[0]) if found else None

    def migrate(self) -> list[str]:
        """Bring the database to this leadgate's schema; what was done, one line per change."""
        found = self.schema_version()
        if found is not None and found > SCHEMA_VERSION:
            raise StoreError(
                f"{self.name} was written by a newer leadgate (schema {found}); upgrade leadgate to use it"
            )
        done: list[str] = []
        if found is not None and found < 2:  # the engine's output changed: the next scoring runs in full
            self._run("DROP TABLE IF EXISTS lead_scores")
            done.append("dropped lead_scores (the next scoring runs in full)")
        found_states = self.columns_of(LEAD_STATE_TABLE)
        if found_states and found_states != list(DERIVED_TABLES[LEAD_STATE_TABLE]):
            self._run(f"DROP TABLE {LEAD_STATE_TABLE}")  # derived: LifecycleStore folds the facts again
            self.lead_states_to_rebuild = True
            done.append(f"dropped {LEAD_STATE_TABLE} (rebuilt from the lifecycle facts)")
        for name, columns in all_tables().items():
            if not self.has_table(name):
                self._run(f"CREATE TABLE {name} ({self._column_list(columns)})")
                done.append(f"created table {name}")
        self._run("CREATE SEQUENCE IF NOT EXISTS lifecycle_seq")
        for table, columns in BOOKKEEPING_TABLES.items():  # columns added since a table was created
            present = set(self.columns_of(table))
            for name, kind in columns.items():
                if name not in present:
                    self._run(f'ALTER TABLE {table} ADD COLUMN "{name}" {self.column_types[kind]}')
                    done.append(f"added column {table}.{name}")
        done += self._engine_objects()
        if found is None:
            self._run("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif found < SCHEMA_VERSION:  # new tables were created above, derived ones dropped
            self._run("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
            done.append(f"schema version {found} -> {SCHEMA_VERSION}")
        return done

    def _engine_objects(self) -> list[str]:
        """Objects only this engine needs (indexes, helper functions); what was created."""
        return []

    def _column_list(self, columns: Columns) -> str:
        return ", ".join(f'"{name}" {self.column_types[kind]}' for name, kind in columns.items())

    # -- reading ---------------------------------------------------------------------------
    def facts(self) -> Facts:
        backend = self.backend
        return Facts(
            backend=backend,
            events=backend.table("events"),
            traits=backend.table("traits"),
            identities=backend.table("identities"),
            person_keys=backend.table("person_keys"),
            property_text=self.property_text,
            engine=self.engine,
            predictions=backend.table(PREDICTIONS_TABLE) if self.has_table(PREDICTIONS_TABLE) else None,
        )

    def count(self, table: str) -> int:
        row = self._one(f"SELECT count(*) FROM {identifier(table)}")
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
        rows = self._run(  # one read: the count is a window over every event of the lead, taken before the limit
            "SELECT ts, event, path, properties, count(*) OVER () FROM events WHERE lead_key = ? "
            "ORDER BY ts DESC, message_id LIMIT ?",
            [lead_key, max(limit, 1)],
        )
        total = int(rows[0][4]) if rows else 0
        return total, [row[:4] for row in rows[:limit]]

    def lead_row(self, table: str, lead_key: int) -> dict[str, Any]:
        """One lead's row of a per-lead table, by column name (empty when there is none)."""
        names = self.columns_of(table)
        row = self._one(f"SELECT {quoted(names)} FROM {identifier(table)} WHERE lead_key = ? LIMIT 1", [lead_key])
        return dict(zip(names, row, strict=True)) if row else {}

    # -- import batches --------------------------------------------------------------------
    def begin_batch(self) -> None:
        """Create empty staging tables for one import."""
        self._staged_counts = dict.fromkeys(STAGED_COLUMNS, 0)
        self._stages_an_alias = False
        self._create_stage_tables()

    def stage(self, table: str, rows: pa.Table) -> None:
        """Append validated rows to a staging table (their columns in STAGED_COLUMNS order).

        What the commit needs to know of them (how many, whether an alias is among them) is
        counted here, from the rows in memory, not asked of the database again at the commit.
        """
        self._append_to_stage(table, rows)
        self._staged_counts[table] += rows.num_rows
        if table == "identities" and not self._stages_an_alias:
            self._stages_an_alias = bool(pc.any(pc.equal(rows["kind"], "alias")).as_py())

    @abstractmethod
    def _create_stage_tables(self) -> None:
        """Empty staging tables, one per fact table (columns of STAGED_COLUMNS)."""

    @abstractmethod
    def _append_to_stage(self, table: str, rows: pa.Table) -> None:
        """Append rows to ``stage_{table}``."""

    def discard_batch(self) -> None:
        for table in STAGED_COLUMNS:
            self._run(f"DROP TABLE IF EXISTS stage_{table}")

    def _lock_imports(self) -> None:
        """Inside the commit transaction: wait until no other process commits a batch (nothing
        to wait for when one process alone writes)."""
        return None

    def commit_batch(self, kind: str, source: str, rows_read: int, started_at: dt.datetime) -> BatchResult:
        """Add the staged facts that are new, in one transaction; nothing on failure.

        Work a batch does not need is skipped (the server commits small batches many times a
        second): the statements of a fact table nothing was staged for, and alias resolution
        (and the part of key assignment only aliases need) when no alias was staged. The facts added are the counts the inserts report.
        """
        sql = self.statements
        staged = self._staged_counts
        try:
            with self.transaction():
                self._lock_imports()
                batch_id = self._next_id("imports", "batch_id")
                if any(staged.values()):
                    self._run(
                        sql.ASSIGN_PERSON_KEYS if self._stages_an_alias else sql.ASSIGN_PERSON_KEYS_WITHOUT_ALIASES
                    )
                aliases = self._apply_aliases() if self._stages_an_alias else 0
                added = {
                    table: self._inserted(statement, [batch_id]) if staged[table] else 0
                    for table, statement in zip(STAGED_COLUMNS, self._fact_inserts(), strict=True)
                }
                self._record_import(batch_id, kind, source, rows_read, sum(added.values()), started_at)
        finally:
            self.discard_batch()
        return BatchResult(batch_id, rows_read, added["events"], added["traits"], added["identities"], aliases)

    def commit_tables(
        self, tables: Mapping[str, pa.Table], kind: str, source: str, rows_read: int, started_at: dt.datetime
    ) -> BatchResult:
        """Stage ``tables`` (fact table -> rows, in STAGED_COLUMNS order) and commit them as
        one batch, as :meth:`commit_batch` does; nothing on failure. The server's intake
        commits its groups so."""
        self.begin_batch()
        try:
            for table, rows in tables.items():
                self.stage(table, rows)
        except BaseException:
            self.discard_batch()
            raise
        return self.commit_batch(kind, source, rows_read, started_at)

    def _record_import(
        self, batch_id: int, kind: str, source: str, rows_read: int, rows_added: int, started_at: dt.datetime
    ) -> None:
        """Inside the commit: the batch's row of ``imports``."""
        self._run(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
            [batch_id, kind, source, started_at, utc_now(), rows_read, rows_added],
        )

    def remember_fact_ids(self) -> None:
        """For a process that commits many small batches (the server's intake): keep what
        lets a commit whose fact ids are all new skip looking them up among the stored ones.
        Nothing by default (PostgreSQL looks each id up in a unique index)."""
        return None

    def take_over_checkpoints(self) -> bool:
        """For a process whose commits must not wait for the database's upkeep (the server):
        commits stop checkpointing the database on their own, and :meth:`checkpoint_if_due`,
        called from a thread of the caller's, does it instead. False when the engine has
        nothing to take over (PostgreSQL checkpoints in its own processes)."""
        return False

    def checkpoint_if_due(self, when_due: Callable[[], object] = lambda: None) -> bool:
        """Checkpoint the database if its log has grown enough since the last checkpoint
        (see :meth:`take_over_checkpoints`), calling ``when_due`` first (it may wait for a
        good moment); whether it did."""
        return False

    def _fact_inserts(self) -> Sequence[str]:
        """Inside the commit: the statement adding each fact table's staged rows (in
        STAGED_COLUMNS order), only the ids not stored yet."""
        return self.statements.INSERT_STAGED_FACTS

    @abstractmethod
    def _inserted(self, statement: str, parameters: Any = None) -> int:
        """Run an INSERT; how many rows it added."""

    def _apply_aliases(self) -> int:
        """Merge the keys that new alias facts link; repeat until chains are followed."""
        sql = self.statements
        applied = 0
        for _ in range(20):
            for statement in _statements(sql.ALIAS_MOVES):
                self._run(statement)
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

    # -- derived tables --------------------------------------------------------------------
    def sql(self, expression: ir.Table, fuse_selects: bool = False) -> str:
        """The engine's SQL of an Ibis expression.

        By default without Ibis's merging of nested selects: the merging is more than half the
        time to compile a scoring expression (0.34 against 0.14 s), which is most of the cost of
        scoring a few thousand leads; over many leads the merged query runs about 5% faster
        (8.2 s against 8.7 s for 1M leads and 50M events on DuckDB, with ``make bench``'s
        data), so a full scoring of a large store asks for it (``fuse_selects=True``).
        """
        fuse = ibis.options.sql.fuse_selects
        ibis.options.sql.fuse_selects = fuse_selects
        try:
            return str(self.backend.compile(expression))
        finally:
            ibis.options.sql.fuse_selects = fuse

    @abstractmethod
    def query_rows(self, query: str) -> list[dict[str, Any]]:
        """The rows of a query (such as one compiled by :meth:`sql` and kept), as dicts."""

    def kept(self, key: Hashable, compile_query: Callable[[], Kept]) -> Kept:
        """What ``compile_query`` gives for ``key``: compiled on first use, then kept in
        :attr:`prepared` for the life of this connection."""
        if key not in self.prepared:
            self.prepared[key] = compile_query()
        return cast(Kept, self.prepared[key])

    def kept_recent(self, key: Hashable, compile_query: Callable[[], str]) -> str:
        """Like :meth:`kept`, for SQL built from a request's values (a listing's filters and
        page), which could be endless: only the RECENT_QUERIES used last are kept. A caller that
        polls the same listing then pays its compilation (some 30 ms) once, not on every call."""
        recent = self.recent_queries
        if key in recent:
            recent.move_to_end(key)
            return recent[key]
        recent[key] = query = compile_query()
        if len(recent) > RECENT_QUERIES:
            recent.popitem(last=False)
        return query

    def table_sql(self, expression: ir.Table, fuse_selects: bool = False) -> str:
        """The SQL that materialises ``expression`` as a table with the types it declares (see
        :meth:`sql` for ``fuse_selects``): a query for :meth:`replace_table_as`."""
        return self.sql(expression, fuse_selects)

    def replace_table(self, name: str, expression: ir.Table, fuse_selects: bool = False) -> None:
        """Materialise an Ibis expression as a table of this store (derived data only)."""
        self.replace_table_as(name, self.table_sql(expression, fuse_selects))

    @contextmanager
    def scratch(self, name: str, expression: ir.Table) -> Iterator[ir.Table]:
        """``expression`` materialised as table ``name`` for the block (for work that reads it
        several times), then dropped."""
        self.replace_scratch_as(name, self.table_sql(expression))
        try:
            yield self.backend.table(name)
        finally:
            self.backend.drop_table(name, force=True)

    def replace_scratch_as(self, name: str, query: str) -> None:
        """Replace (or create) scratch table ``name`` (see :meth:`scratch`): here a table like
        any other (see :meth:`DuckDBStore.replace_scratch_as`)."""
        self.replace_table_as(name, query)

    def replace_scratch_from_arrow(self, name: str, rows: pa.Table) -> None:
        """Replace (or create) scratch table ``name`` with in-memory rows (see
        :meth:`replace_scratch_as`)."""
        self.replace_table_from_arrow(name, rows)

    @abstractmethod
    def replace_table_as(self, name: str, query: str) -> None:
        """Replace (or create) table ``name`` with the rows of ``query`` (from :meth:`table_sql`)."""

    @abstractmethod
    def replace_table_from_arrow(self, name: str, rows: pa.Table) -> None:
        """Store in-memory rows as a (derived or bookkeeping) table, replacing it."""

    @abstractmethod
    def replace_rows_as(
        self, name: str, query: str, columns: list[str], keys_table: str, key: str = "lead_key"
    ) -> None:
        """In one transaction, swap the rows of derived table ``name`` whose ``key`` is in table
        ``keys_table`` for the rows of ``query`` (from :meth:`sql`, with ``columns``)."""

    @abstractmethod
    def export_table(self, name: str, target: Path, columns: list[str] | None = None) -> int:
        """Write a table to ``target`` (.csv or .parquet); returns the number of rows."""

    def export_facts(self, directory: Path) -> list[Path]:
        """Write the fact and identity tables as Parquet files (for Spark or an archive)."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name in (*FACT_TABLES, *DERIVED_TABLES):
            target = directory / f"{name}.parquet"
            self.export_table(name, target)
            written.append(target)
        return written

    def account_traits_changed_since(self, batch_id: int) -> bool:
        """Whether an import batch after ``batch_id`` learnt an account trait."""
        row = self._one("SELECT 1 FROM traits WHERE batch_id > ? AND entity_type = 'account' LIMIT 1", [batch_id])
        return row is not None

    def touched_lead_keys(self, since_batch: int, since_seq: int) -> ir.Table:
        """The lead keys named by facts of import batches after ``since_batch``, and the leads
        whose engagement restarted after lifecycle fact ``since_seq``."""
        for statement in _statements(self.statements.TOUCHED_LEAD_KEYS):
            self._run(statement, {"since": since_batch, "since_seq": since_seq} if "$since" in statement else None)
        return self.backend.table("touched_keys")

    def record_scoring_run(self, run: dict[str, object]) -> None:
        run_id = self._next_id("scoring_runs", "run_id")
        columns = list(BOOKKEEPING_TABLES["scoring_runs"])
        values = [run_id, *(run[name] for name in columns[1:])]
        self._run(f"INSERT INTO scoring_runs VALUES ({', '.join('?' for _ in columns)})", values)

    def last_scoring_run(self) -> dict[str, object] | None:
        row = self._one(
            f"SELECT {quoted(BOOKKEEPING_TABLES['scoring_runs'])} FROM scoring_runs ORDER BY run_id DESC LIMIT 1"
        )
        if row is None:
            return None
        return dict(zip(BOOKKEEPING_TABLES["scoring_runs"], row, strict=True))

    def any_engagement_restart(self) -> bool:
        """Whether some lead's engagement restarted (a recycled lead counts its events anew)."""
        return self._one(f"SELECT 1 FROM {LEAD_STATE_TABLE} WHERE engagement_since IS NOT NULL LIMIT 1") is not None

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
            raise NotFound(f"no lead with the id {lead_id!r}")
        lead_key = int(row[0])
        with self.transaction():
            for statement in self.statements.ERASE_PERSON:
                parameters = {"lead_key": lead_key, "at": at}
                self._run(statement, {name: value for name, value in parameters.items() if f"${name}" in statement})
        return lead_key


def _statements(text: str | tuple[str, ...]) -> tuple[str, ...]:
    return (text,) if isinstance(text, str) else text


def identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise StoreError(f"not a table name: {name!r}")
    return name


def quoted(names: Any) -> str:
    return ", ".join(f'"{name}"' for name in names)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
