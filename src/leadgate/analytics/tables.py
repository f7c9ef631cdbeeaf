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

from leadgate.store.base import Store

LIFECYCLE_NAMES = ("transitions", "assignments", "decisions", "sla_breaches")
FACT_NAMES = ("events", "traits", "identities", "person_keys")
PREDICTIONS_TABLE = "lead_predictions"  # written by the predictive model, when one is trained


@dataclass(frozen=True)
class FunnelTables:
    """Every table a funnel report reads; ``predictions`` is None when no model has run."""

    backend: ibis.BaseBackend
    events: ir.Table
    traits: ir.Table
    identities: ir.Table
    person_keys: ir.Table
    transitions: ir.Table
    assignments: ir.Table
    decisions: ir.Table
    sla_breaches: ir.Table
    predictions: ir.Table | None = None


def from_store(store: Store) -> FunnelTables:
    """The tables of a DuckDB or PostgreSQL store."""
    backend = store.backend
    tables = {name: backend.table(name) for name in FACT_NAMES + LIFECYCLE_NAMES}
    return FunnelTables(
        backend=backend, predictions=_predictions(backend, store.has_table(PREDICTIONS_TABLE)), **tables
    )


def from_parquet(backend: ibis.BaseBackend, directory: Path, prefix: str) -> FunnelTables:
    """The tables as Parquet files ``<directory>/<table>.parquet`` (how Spark reads a store)."""
    tables = {
        name: backend.read_parquet(directory / f"{name}.parquet", table_name=f"{prefix}_{name}")
        for name in FACT_NAMES + LIFECYCLE_NAMES
    }
    predictions_file = directory / f"{PREDICTIONS_TABLE}.parquet"
    predictions = None
    if predictions_file.exists():
        predictions = backend.read_parquet(predictions_file, table_name=f"{prefix}_{PREDICTIONS_TABLE}")
    return FunnelTables(backend=backend, predictions=_usable(predictions), **tables)


def export_parquet(tables: FunnelTables, directory: Path) -> None:
    """Write every table as ``<directory>/<table>.parquet`` (for a Spark run over a store's history)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in FACT_NAMES + LIFECYCLE_NAMES:
        getattr(tables, name).to_parquet(directory / f"{name}.parquet")
    if tables.predictions is not None:
        tables.predictions.to_parquet(directory / f"{PREDICTIONS_TABLE}.parquet")


def _predictions(backend: ibis.BaseBackend, exists: bool) -> ir.Table | None:
    return _usable(backend.table(PREDICTIONS_TABLE)) if exists else None


def _usable(table: ir.Table | None) -> ir.Table | None:
    """Predictions as ``lead_key``, ``probability``, ``predicted_at`` (from the model store's
    ``p_convert`` and ``as_of``), else None: a table of another shape is skipped, not misread."""
    if table is None or not {"lead_key", "p_convert", "as_of"} <= set(table.columns):
        return None
    return table.select("lead_key", probability=table.p_convert, predicted_at=table.as_of)
