"""Opening a store from where the workspace says the database is: a file or a PostgreSQL URL."""

from __future__ import annotations

from pathlib import Path

from leadgate.store.base import Store


def is_database_url(location: str | Path) -> bool:
    """Whether a ``database`` setting names a server (``postgresql://...``) rather than a file."""
    from leadgate.store.postgres_store import is_postgres_url

    return is_postgres_url(location)


def shown_setting(name: str, value: object) -> object:
    """A setting's value fit to print: a database URL without its password."""
    if name == "database" and is_database_url(str(value)):
        from leadgate.store.postgres_store import shown_url

        return shown_url(str(value))
    return value


def open_store(
    location: str | Path, memory_limit: str | None = None, migrate: bool = True, threads: int | None = None
) -> Store:
    """The store at ``location``: a ``postgresql://`` URL, else a DuckDB file.

    ``migrate=False`` leaves the schema as it is (``leadgate db status`` and ``db upgrade``
    look before they change anything). ``memory_limit`` and ``threads`` (None: DuckDB's
    defaults) concern DuckDB only.
    """
    if is_database_url(location):
        from leadgate.store.postgres_store import PostgresStore

        return PostgresStore(str(location), migrate=migrate)
    from leadgate.store.duckdb_store import DuckDBStore

    return DuckDBStore(location, memory_limit=memory_limit, migrate=migrate, threads=threads)
