"""``leadgate serve`` and ``leadgate keys``: the HTTP service and its API keys."""

from __future__ import annotations

import os

import typer
from rich.table import Table

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import UserError
from leadgate.service.keys import ROLE_HELP, ROLES, create_key, revoke_key
from leadgate.service.scoring import utc_now
from leadgate.store.keys_store import KeysStore
from leadgate.store.opening import is_database_url
from leadgate.workspace import WORKSPACE_ENV, Workspace

keys_app = typer.Typer(help="API keys of the HTTP service: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

_ROLES_TEXT = "; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items())


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="The address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, help="The port to listen on."),
    workers: int = typer.Option(
        1, help="Server processes (above 1 needs a PostgreSQL database; the embedded DuckDB store takes one writer)."
    ),
    database: str | None = typer.Option(
        None, help="The database to serve, e.g. a postgresql:// URL (default: the workspace's database setting)."
    ),
    idle_seconds: float = typer.Option(
        30.0, "--cycle-every", help="Seconds between cycles when no fact arrives (SLA deadlines pass meanwhile)."
    ),
    log_level: str = typer.Option("info", help="uvicorn's log level: critical, error, warning, info, debug."),
) -> None:
    """Serve the HTTP API: Segment-compatible ingestion, the REST API, and a worker that
    qualifies, routes and notifies within a second of the events that cause it.

    OpenAPI document at /openapi.json, interactive docs at /docs."""
    import uvicorn

    from leadgate.api.app import create_app
    from leadgate.api.workers import CYCLE_EVERY_ENV
    from leadgate.service.runtime import Runtime, tune_interpreter

    workspace = state(ctx).workspace()
    if database is not None:
        workspace = Workspace(workspace.root, {"database": database})
    if workers < 1:
        raise UserError("--workers: at least 1")
    if workers > 1 and not is_database_url(str(workspace.setting("database"))):
        raise UserError(
            "--workers above 1 needs a store that several processes can write (a PostgreSQL database: "
            "--database postgresql://...); the embedded DuckDB store takes one writer process "
            "(one process serves ingestion, the API and the worker on its threads)"
        )
    workspace.playbook()  # a broken playbook is refused before the server starts
    if workers == 1:
        runtime = Runtime(workspace, idle_seconds=idle_seconds)
        app = create_app(runtime)
        tune_interpreter()
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    workspace.open_store().close()  # the tables, once, before the processes start
    os.environ[WORKSPACE_ENV] = str(workspace.root)
    os.environ["LEADGATE_DATABASE"] = str(workspace.setting("database"))  # the setting, from the environment
    os.environ[CYCLE_EVERY_ENV] = str(idle_seconds)
    uvicorn.run(
        "leadgate.api.workers:app_from_environment",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level=log_level,
    )


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: str = typer.Option(..., help=f"The key's role. {_ROLES_TEXT}."),
    user: str | None = typer.Option(None, help="The rep the key acts as (needed for sales and manager keys)."),
    team: str | None = typer.Option(None, help="Limit a sales or manager key to one of the rep's teams."),
    as_json: bool = typer.Option(False, "--json", help="Print the key and its record as JSON."),
) -> None:
    """Create an API key. The key is printed once; only its hash is stored."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    workspace = state(ctx).workspace()
    key, record = create_key(workspace.store, workspace.playbook().model, role, user, team, utc_now())
    if as_json:
        print_json({"key": key, "key_id": record.key_id, "role": role, "user": user, "team": team})
        return
    console.print(f"Key {record.key_id} ({role}{' for ' + user if user else ''}). Keep it now, it is not shown again:")
    console.print(key, highlight=False, soft_wrap=True)


@keys_app.command("list")
def list_keys(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the keys as JSON.")
) -> None:
    """Every key: id, role, user, team, when it was made and revoked (never the key itself)."""
    records = KeysStore(state(ctx).workspace().store).all()
    if as_json:
        print_json([record.__dict__ for record in records])
        return
    table = Table("id", "role", "user", "team", "created", "revoked")
    for record in records:
        table.add_row(
            record.key_id,
            record.role,
            record.user_name or "-",
            record.team or "-",
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.revoked_at:%Y-%m-%d %H:%M}" if record.revoked_at else "-",
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context, key_id: str = typer.Argument(..., help="The key's id (see 'leadgate keys list').")
) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    revoke_key(state(ctx).workspace().store, key_id, utc_now())
    console.print(f"Key {key_id} is revoked.")
