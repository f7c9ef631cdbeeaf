"""Fact rows into the store's staging tables, for a file import and for the HTTP intake alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any

import pyarrow as pa

from leadgate.ingest.rows import EventRow, Row, TraitRow
from leadgate.store.base import STAGED_COLUMNS, Store
from leadgate.store.schema import ARROW_TYPES


@dataclass(frozen=True)
class Numbered:
    """A fact row with its place in the input (a file's line, a message's position)."""

    row: Row
    line: int


def table_of(row: Row) -> str:
    """The fact table a row goes to."""
    if isinstance(row, EventRow):
        return "events"
    if isinstance(row, TraitRow):
        return "traits"
    return "identities"


def empty_buffers() -> dict[str, list[Numbered]]:
    return {table: [] for table in STAGED_COLUMNS}


def buffer_rows(buffers: dict[str, list[Numbered]], rows: Iterable[Row], line: int) -> int:
    """Add rows to the per-table buffers; how many were added."""
    added = 0
    for row in rows:
        buffers[table_of(row)].append(Numbered(row, line))
        added += 1
    return added


def stage_buffers(store: Store, buffers: dict[str, list[Numbered]]) -> None:
    """Stage every buffered row (in an open batch) and empty the buffers."""
    for table, numbered in buffers.items():
        if numbered:
            store.stage(table, _to_arrow(table, numbered))
            numbered.clear()


def _to_arrow(table: str, numbered: list[Numbered]) -> pa.Table:
    columns = STAGED_COLUMNS[table]
    data: dict[str, list[Any]] = {name: [] for name in columns}
    row_fields = {item.name for item in fields(numbered[0].row)}
    for item in numbered:
        for name in columns:
            if name in row_fields:
                data[name].append(getattr(item.row, name))
            else:  # line (events) or seq (traits, identities): the row's place in the input
                data[name].append(item.line)
    schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])
    return pa.table(data, schema=schema)
