"""Guards for the pinned versions (pyproject.toml).

ibis-framework 12.0.0 with sqlglot 30.18 or newer generates ``DROP VIEW IF EXISTS`` without a
name when it creates a DuckDB table from in-memory data, and DuckDB answers "Parser Error".
leadgate pins sqlglot 30.16.0; if a future upgrade brings the break back, these tests fail.
"""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pytest


@pytest.mark.parametrize(
    "data",
    [
        pd.DataFrame({"lead_key": [1, 2], "name": ["a", "b"]}),
        pa.table({"lead_key": [1, 2], "name": ["a", "b"]}),
        ibis.memtable(pa.table({"lead_key": [1, 2], "name": ["a", "b"]})),
    ],
    ids=["pandas", "arrow", "memtable"],
)
def test_ibis_creates_duckdb_tables_from_in_memory_data(data: object) -> None:
    backend = ibis.duckdb.connect()
    table = backend.create_table("from_memory", data, overwrite=True)
    assert table.count().to_pyarrow().as_py() == 2
    backend.create_table("from_memory", data, overwrite=True)  # the overwrite path drops a view first
    assert sorted(backend.table("from_memory").name.to_pyarrow().to_pylist()) == ["a", "b"]
