"""Shared fixtures: a real store per test on every engine (a DuckDB file, a database of a
throwaway PostgreSQL server started once per run), one Spark session per run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leadgate.store.base import Store
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.opening import open_store
from leadgate.store.postgres_store import PostgresStore
from tests.postgres_server import PostgresServer
from tests.worlds import World

ENGINES = ("duckdb", "postgres")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole run (about 1 s to start), with a template database
    holding leadgate's tables. Missing PostgreSQL binaries fail the tests that need them."""
    server = PostgresServer()
    try:
        server.start()
        PostgresStore(server.url(server.template)).close()  # the tables, once; each test copies them
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database of its own (leadgate's tables, no rows), dropped after the test."""
    url = postgres_server.new_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a store test runs on: every test that takes ``store`` runs on each. A module
    whose tests only make sense on one engine overrides this fixture (saying why)."""
    return str(request.param)


@pytest.fixture
def database(engine: str, request: pytest.FixtureRequest) -> str | None:
    """The ``database`` setting of a workspace on ``engine``: a fresh PostgreSQL database's URL,
    or None (the workspace's own DuckDB file)."""
    return str(request.getfixturevalue("postgres_url")) if engine == "postgres" else None


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    """A fresh store: a new DuckDB file, or a new PostgreSQL database."""
    opened: Store
    if engine == "postgres":
        opened = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        opened = DuckDBStore(tmp_path / "leadgate.duckdb")
    yield opened
    opened.close()


@pytest.fixture
def reopen(store: Store) -> Callable[[], Store]:
    """Another connection to the test's database (as a second request, or a later command, makes)."""
    return lambda: open_store(store.url if isinstance(store, PostgresStore) else Path(store.name))


@pytest.fixture
def world(store: Store) -> World:
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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium (Debian's, driven by Playwright) for the whole run."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch

    with sync_playwright() as playwright:
        opened = launch(playwright)
        try:
            yield opened
        finally:
            opened.close()
