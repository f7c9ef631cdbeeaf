"""``leadgate users create|list|password|disable``: the people who sign in to the web app."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import UserError
from leadgate.service.keys import ROLE_HELP
from leadgate.service.scoring import utc_now
from leadgate.service.users import change_password, create_user, disable_user
from leadgate.store.users_store import UsersStore

users_app = typer.Typer(
    help="The web app's users (under /app of 'leadgate serve'): create, list, change a password, disable.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

_ROLES_TEXT = "; ".join(f"{role}: {text}" for role, text in ROLE_HELP.items() if role != "ingest")
_PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input (for scripts)."
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise UserError("--password-stdin: standard input has no password on its first line")
        return line
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The user name; for sales and manager users, the rep's name in the playbook."),
    role: str = typer.Option(..., help=f"The user's role. {_ROLES_TEXT}."),
    team: str | None = typer.Option(None, help="Limit a sales or manager user to one of the rep's teams."),
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """Create a user who signs in to the web app with a password (asked twice, never shown)."""
    workspace = state(ctx).workspace()
    playbook = workspace.playbook().model
    password = _password(password_stdin)
    create_user(workspace.store, playbook, name, role, team, password, utc_now())
    console.print(f"User {name} ({role}{', team ' + team if team else ''}) can sign in at /app.", highlight=False)


@users_app.command("list")
def list_users(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the users as JSON.")
) -> None:
    """Every user: name, role, team, when they were created and disabled (never a password)."""
    records = UsersStore(state(ctx).workspace().store).all()
    if as_json:
        print_json([record.__dict__ for record in records])
        return
    table = Table("user", "role", "team", "created", "disabled")
    for record in records:
        table.add_row(
            record.user_name,
            record.role,
            record.team or "-",
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.disabled_at:%Y-%m-%d %H:%M}" if record.disabled_at else "-",
        )
    console.print(table)


@users_app.command("password")
def password(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The user."),
    password_stdin: bool = _PASSWORD_STDIN,
) -> None:
    """Set a user's password (their open sessions stay signed in)."""
    change_password(state(ctx).workspace().store, name, _password(password_stdin))
    console.print(f"The password of {name} is changed.", highlight=False)


@users_app.command("disable")
def disable(ctx: typer.Context, name: str = typer.Argument(..., help="The user.")) -> None:
    """Disable a user: they cannot sign in, and their open sessions end."""
    disable_user(state(ctx).workspace().store, name, utc_now())
    console.print(f"{name} is disabled.", highlight=False)
