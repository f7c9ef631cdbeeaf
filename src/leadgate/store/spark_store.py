"""The Spark adapter: batch scoring over exported facts, on a local or a cluster Spark session.

When the event history outgrows one machine, the facts are exported as Parquet
(:meth:`DuckDBStore.export_facts`) and Spark scores them with the very same Ibis expressions;
the scores go back out as Parquet files. This module is the only place that knows Spark:

- each fact table is registered as a temporary view under a name of its own store, so two
  stores in one session never read each other's files;
- an event property is read with Spark's builtin ``get_json_object`` (Ibis's JSON type would
  run Python UDFs on Spark);
- times stay naive UTC to the microsecond: DuckDB writes its timestamps to Parquet as
  microseconds not adjusted to UTC, which Spark reads as ``TIMESTAMP_NTZ``; Ibis sets the
  session time zone to UTC on connect, so Spark's epoch arithmetic on them is UTC; written
  files keep them as ``TIMESTAMP_NTZ``;
- written columns have the types the expression declares, not the ones Spark infers (Spark
  reads a literal ``20.0`` as a DECIMAL, and ``0 + 1`` as an INT where Ibis says BIGINT);
- py4j and pyspark errors become :class:`StoreError`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.backends.pyspark.datatypes import PySparkType
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as spark_functions
from pyspark.sql import types as spark_types

from leadgate.errors import StoreError
from leadgate.store.facts import Facts

# The files DuckDBStore.export_facts writes, one per table.
FACT_FILES = ("events", "traits", "identities", "person_keys", "erasures")


@ibis.udf.scalar.builtin(name="get_json_object")
def _get_json_object(document: str, path: str) -> str:  # type: ignore[empty-body]
    """Spark's JSON reader, declared for Ibis."""


def spark_property_text(document: ir.StringValue, name: str) -> ir.StringValue:
    return _get_json_object(document, f"$.{name}")


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Turn a Spark driver error into a :class:`StoreError` that says what was being done."""
    try:
        yield
    except (PySparkException, Py4JError) as exc:
        raise StoreError(f"Spark could not {action}: {_first_line(exc)}") from exc


class SparkStore:
    """Exported facts (one Parquet file per table) registered in a Spark session."""

    engine = "spark"

    def __init__(self, session: SparkSession, directory: Path) -> None:
        self.session = session
        self.directory = directory
        with translated_errors("connect"):
            self.backend = ibis.pyspark.connect(session)
        self._view_prefix = f"leadgate_{uuid.uuid4().hex[:12]}"
        self.tables = {name: self._register(name) for name in FACT_FILES}

    def _register(self, name: str) -> ir.Table:
        path = self.directory / f"{name}.parquet"
        with translated_errors(f"read {path}"):
            return self.backend.read_parquet(path, table_name=f"{self._view_prefix}_{name}")

    def facts(self) -> Facts:
        return Facts(
            backend=self.backend,
            events=self.tables["events"],
            traits=self.tables["traits"],
            identities=self.tables["identities"],
            person_keys=self.tables["person_keys"],
            property_text=spark_property_text,
            engine=self.engine,
        )

    def write_scores(self, expression: ir.Table, path: Path) -> None:
        """Compute ``expression`` and write it as a Parquet directory at ``path`` (replacing it)."""
        with translated_errors(f"write {path}"):
            self._typed_frame(expression).write.mode("overwrite").parquet(str(path))

    def _typed_frame(self, expression: ir.Table) -> DataFrame:
        frame = self.session.sql(self.backend.compile(expression))
        return frame.select(*(_typed_column(name, dtype) for name, dtype in expression.schema().items()))


def _typed_column(name: str, dtype: dt.DataType) -> Column:
    column = spark_functions.col(f"`{name}`")
    return column.cast(_spark_type(dtype)).alias(name)


def _spark_type(dtype: dt.DataType) -> spark_types.DataType:
    if dtype.is_timestamp() and dtype.timezone is None:  # type: ignore[attr-defined]
        return spark_types.TimestampNTZType()
    return PySparkType.from_ibis(dtype)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
