"""``leadgate db status`` and ``leadgate db upgrade``: the database's schema version, on either engine."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import BaseModel

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.store.opening import open_store
from leadgate.store.schema import SCHEMA_VERSION
from leadgate.workspace import Workspace

db_app = typer.Typer(help="The database: its schema version, and upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")

_DATABASE_HELP = "The database, e.g. a postgresql:// URL (default: the workspace's database setting)."


class DatabaseStatus(BaseModel):
    database: str
    engine: str
    schema_version: int | None
    current_version: int
    up_to_date: bool


class Upgrade(BaseModel):
    database: str
    schema_version: int
    changes: list[str]


def _workspace(ctx: typer.Context, database: str | None) -> Workspace:
    workspace = state(ctx).workspace()
    return Workspace(workspace.root, {"database": database}) if database is not None else workspace


@db_app.command("status")
def status(
    ctx: typer.Context,
    database: str | None = typer.Option(None, help=_DATABASE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """The database's schema version and this leadgate's (changes nothing)."""
    location = _workspace(ctx, database).database
    found: int | None = None
    engine = "duckdb"
    if not isinstance(location, Path) or location.exists():
        store = open_store(location, migrate=False)
        try:
            found, engine, name = store.schema_version(), store.engine, store.name
        finally:
            store.close()
    else:
        name = str(location)
    report = DatabaseStatus(
        database=name,
        engine=engine,
        schema_version=found,
        current_version=SCHEMA_VERSION,
        up_to_date=found == SCHEMA_VERSION,
    )
    if as_json:
        print_json(report)
        return
    if found is None:
        verdict = "holds no leadgate tables yet: 'leadgate db upgrade' creates them"
    elif found < SCHEMA_VERSION:
        verdict = f"is at schema {found}, this leadgate uses {SCHEMA_VERSION}: run 'leadgate db upgrade'"
    elif found > SCHEMA_VERSION:
        verdict = f"is at schema {found}, written by a newer leadgate (this one uses {SCHEMA_VERSION})"
    else:
        verdict = f"is at schema {found}, up to date"
    console.print(f"{name} ({engine}) {verdict}.", highlight=False, soft_wrap=True)


@db_app.command("upgrade")
def upgrade(
    ctx: typer.Context,
    database: str | None = typer.Option(None, help=_DATABASE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Create the tables, or bring them to this leadgate's schema, and say what was done."""
    store = open_store(_workspace(ctx, database).database, migrate=False)
    try:
        changes = store.migrate()
        if store.lead_states_to_rebuild:
            LifecycleStore(store)  # folds the lifecycle facts into the rebuilt table
        report = Upgrade(database=store.name, schema_version=SCHEMA_VERSION, changes=changes)
    finally:
        store.close()
    if as_json:
        print_json(report)
        return
    if not changes:
        console.print(f"{report.database} is at schema {SCHEMA_VERSION}: nothing to do.", highlight=False)
        return
    console.print(f"{report.database} upgraded to schema {SCHEMA_VERSION}:", highlight=False, soft_wrap=True)
    for change in changes:
        console.print(f"  {change}", highlight=False)
