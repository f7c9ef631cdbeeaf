"""``leadgate reps list|away|back``: the reps of the playbook's teams and their absences."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import UserError
from leadgate.routing.assign import Absence
from leadgate.service.reps import mark_away, mark_back, rep_views
from leadgate.service.scoring import utc_now

reps_app = typer.Typer(
    help="The reps of the playbook's teams: who they are, their load, their absences.", no_args_is_help=True
)
app.add_typer(reps_app, name="reps")


def _date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r}: write a date as YYYY-MM-DD") from None


@reps_app.command("list")
def list_reps(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the reps as JSON.")
) -> None:
    """Every rep and manager, with their teams, open leads and absences."""
    workspace = state(ctx).workspace()
    views = rep_views(workspace.store, workspace.playbook(), utc_now())
    if as_json:
        print_json(views)
        return
    table = Table("rep", "teams", "manages", "open leads", "absences")
    for view in views:
        away = ", ".join(f"{item['from']} → {item['to']}" for item in view.absences) or "-"
        table.add_row(
            view.rep, ", ".join(view.teams) or "-", ", ".join(view.manages) or "-", str(view.open_leads), away
        )
    console.print(table)


@reps_app.command("away")
def away(
    ctx: typer.Context,
    rep: str = typer.Argument(..., help="The rep."),
    start: str = typer.Option(..., "--from", help="First day away (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--to", help="Last day away (YYYY-MM-DD, included)."),
) -> None:
    """Mark a rep absent: routing skips them and they cannot decide on those days."""
    workspace = state(ctx).workspace()
    absence = Absence(rep, _date(start, "--from"), _date(end, "--to"))
    mark_away(workspace.store, workspace.playbook(), absence, utc_now())
    console.print(f"{rep} is away from {absence.start} to {absence.end}.", highlight=False)


@reps_app.command("back")
def back(
    ctx: typer.Context,
    rep: str = typer.Argument(..., help="The rep."),
    start: str = typer.Option(..., "--from", help="The first day of the absence to cancel (YYYY-MM-DD)."),
) -> None:
    """Cancel an absence (the one starting on --from)."""
    workspace = state(ctx).workspace()
    cancelled = mark_back(workspace.store, workspace.playbook(), rep, _date(start, "--from"), utc_now())
    console.print(f"{rep} is no longer away from {cancelled.start} to {cancelled.end}.", highlight=False)
