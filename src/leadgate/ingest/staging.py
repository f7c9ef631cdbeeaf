"""Fact rows into the store's staging tables, for a file import and for the HTTP intake alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from leadgate.ingest.rows import EventRow, Row, TraitRow
from leadgate.store.base import STAGED_COLUMNS, Store
from leadgate.store.schema import ARROW_TYPES


@dataclass(frozen=True)
class Numbered:
    """A fact row with its place in the input (a file's line, a message's position)."""

    row: Row
    line: int


# The staged column that holds a row's place in the input (the first copy of a fact id wins).
POSITION_COLUMNS = {"events": "line", "traits": "seq", "identities": "seq"}


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


def staged_tables(rows: Sequence[Row]) -> dict[str, pa.Table]:
    """The rows of one request as an Arrow table per fact table, each row numbered by its
    place among ``rows`` (from 1); :func:`renumbered` places them after earlier requests'."""
    by_table: dict[str, tuple[list[Row], list[int]]] = {table: ([], []) for table in STAGED_COLUMNS}
    for position, row in enumerate(rows, 1):
        table_rows, positions = by_table[table_of(row)]
        table_rows.append(row)
        positions.append(position)
    return {
        table: _to_arrow(table, *rows_and_positions)
        for table, rows_and_positions in by_table.items()
        if rows_and_positions[0]
    }


def renumbered(table: str, rows: pa.Table, after: int) -> pa.Table:
    """``rows`` of ``table`` (from :func:`staged_tables`) numbered from ``after + 1`` on."""
    column = POSITION_COLUMNS[table]
    index = rows.schema.get_field_index(column)
    return rows.set_column(index, column, pc.add(rows[column], pa.scalar(after, rows.schema.field(column).type)))


def stage_buffers(store: Store, buffers: dict[str, list[Numbered]]) -> None:
    """Stage every buffered row (in an open batch) and empty the buffers."""
    for table, numbered in buffers.items():
        if numbered:
            store.stage(table, _to_arrow(table, [item.row for item in numbered], [item.line for item in numbered]))
            numbered.clear()


def _to_arrow(table: str, rows: list[Row], lines: list[int]) -> pa.Table:
    """The rows of one table as Arrow, built column by column (a few microseconds a row: each
    HTTP request does this for its own rows, while the intake commits earlier ones); ``lines``:
    each row's place in the input (the staged ``line`` of events, ``seq`` of the others)."""
    columns = STAGED_COLUMNS[table]
    row_fields = {item.name for item in fields(rows[0])}
    from_rows = [name for name in columns if name in row_fields]
    values = attrgetter(*from_rows)
    by_column = zip(*map(values, rows), strict=True)
    data: dict[str, Sequence[Any]] = dict(zip(from_rows, by_column, strict=True))
    arrays = [pa.array(data.get(name, lines), type=ARROW_TYPES[kind]) for name, kind in columns.items()]
    return pa.Table.from_arrays(arrays, schema=pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()]))
