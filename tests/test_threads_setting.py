"""DuckDB's threads: its default (one per core) in commands and the server, or what the setting says."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from leadgate.errors import SettingError
from leadgate.service.runtime import Runtime
from leadgate.store.base import Store
from leadgate.store.opening import open_store
from leadgate.workspace import Workspace, init_workspace


def duckdb_threads(store: Store) -> int:
    return int(store._run("SELECT current_setting('threads')")[0][0])


def closed_runtime_threads(root: Path) -> tuple[int, int, int]:
    """The threads of a server's lifecycle, intake and side connections (the server is not started)."""
    runtime = Runtime(Workspace(root))
    try:
        with runtime.side_store() as side:
            return duckdb_threads(runtime.store), duckdb_threads(runtime.facts_store), duckdb_threads(side)
    finally:
        runtime.facts_store.close()
        runtime.store.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    workspace = init_workspace(tmp_path / "ws")
    workspace.close()
    return workspace.root


def test_without_the_setting_commands_and_the_server_keep_duckdbs_default(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADGATE_THREADS", raising=False)
    with duckdb.connect() as fresh:  # what DuckDB picks by itself on this machine
        default = int(fresh.execute("SELECT current_setting('threads')").fetchone()[0])  # type: ignore[index]
    store = Workspace(root).open_store()
    try:
        assert duckdb_threads(store) == default
    finally:
        store.close()
    assert closed_runtime_threads(root) == (default, default, default)


def test_the_setting_wins_in_commands_and_in_the_server(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADGATE_THREADS", "3")
    store = Workspace(root).open_store()
    try:
        assert duckdb_threads(store) == 3
    finally:
        store.close()
    assert closed_runtime_threads(root) == (3, 3, 3)


@pytest.mark.parametrize(
    ("value", "message"),
    [("-2", "setting threads from .*'-2' is negative"), ("many", "'many' is not a valid int")],
)
def test_a_bad_threads_setting_is_a_clear_error_and_leaves_the_database_as_it_was(
    root: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    database = root / "leadgate.duckdb"
    before = database.read_bytes()
    monkeypatch.setenv("LEADGATE_THREADS", value)
    with pytest.raises(SettingError, match=message):
        Workspace(root).open_store()
    with pytest.raises(SettingError, match=message):
        Runtime(Workspace(root))
    assert database.read_bytes() == before


def test_postgresql_has_no_threads_to_set(postgres_url: str) -> None:
    store = open_store(postgres_url, threads=3)  # the setting concerns DuckDB only: accepted, nothing to do
    try:
        assert store._run("SELECT 1") == [(1,)]
    finally:
        store.close()
