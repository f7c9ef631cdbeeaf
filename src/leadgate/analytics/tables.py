"""The tables funnel analytics reads, as Ibis tables, whatever engine holds them.

Funnel figures are computed from the facts only: the lifecycle facts (transitions,
assignments, decisions, SLA breaches) and, for the dimensions, the events, traits and
identities. A DuckDB or PostgreSQL store gives them through its Ibis backend; for Spark they
are Parquet files (one per table) read by the same session (:func:`from_parquet`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import ibis
import ibis.expr.types as ir

from leadgate.predict.model_store import ModelRecord, ModelStore
from leadgate.store.base import Store

LIFECYCLE_NAMES = ("transitions", "assignments", "decisions", "sla_breaches")
FACT_NAMES = ("events", "traits", "identities", "person_keys")


@dataclass(frozen=True)
class FunnelTables:
    """Every table a funnel report reads, and the latest predictive model's record (None when no
    model was trained, or for tables read from files)."""

    backend: ibis.BaseBackend
    events: ir.Table
    traits: ir.Table
    identities: ir.Table
    person_keys: ir.Table
    transitions: ir.Table
    assignments: ir.Table
    decisions: ir.Table
    sla_breaches: ir.Table
    model: ModelRecord | None = None


def from_store(store: Store) -> FunnelTables:
    """The tables of a DuckDB or PostgreSQL store."""
    backend = store.backend
    tables = {name: backend.table(name) for name in FACT_NAMES + LIFECYCLE_NAMES}
    return FunnelTables(backend=backend, model=ModelStore(store).latest(), **tables)


def from_parquet(backend: ibis.BaseBackend, directory: Path, prefix: str) -> FunnelTables:
    """The tables as Parquet files ``<directory>/<table>.parquet`` (how Spark reads a store)."""
    tables = {
        name: backend.read_parquet(directory / f"{name}.parquet", table_name=f"{prefix}_{name}")
        for name in FACT_NAMES + LIFECYCLE_NAMES
    }
    return FunnelTables(backend=backend, **tables)


def export_parquet(tables: FunnelTables, directory: Path) -> None:
    """Write every table as ``<directory>/<table>.parquet`` (for a Spark run over a store's history)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in FACT_NAMES + LIFECYCLE_NAMES:
        getattr(tables, name).to_parquet(directory / f"{name}.parquet")
