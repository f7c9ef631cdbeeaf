"""Shared fixtures: a real DuckDB store per test, one Spark session per run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadgate.store.duckdb_store import DuckDBStore
from tests.worlds import World


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    """A fresh DuckDB file."""
    opened = DuckDBStore(tmp_path / "leadgate.duckdb")
    yield opened
    opened.close()


@pytest.fixture
def world(store: DuckDBStore) -> World:
    return World(store)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[object]:
    """One local Spark session for the whole run (starting one takes about 5 s)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("leadgate-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Test data is tiny, so Spark's fixed costs dominate: one shuffle partition, no adaptive
        # re-planning, no broadcast jobs, and interpreted expressions (generating and compiling
        # code for the scoring's wide expressions takes seconds per query and saves nothing on
        # a few thousand rows). Together they make a scoring query several times faster.
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .config("spark.sql.codegen.wholeStage", "false")
        .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
        # A JVM that lives for one test run: its quick compiler only, warm in seconds.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
