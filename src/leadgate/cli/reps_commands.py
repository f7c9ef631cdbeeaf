"""``leadgate reps list|away|back``: the reps of the playbook's teams and their absences."""

from __future__ import annotations

import datetime as dt

import typer
from pydantic import BaseModel
from rich.table import Table

from leadgate.cli.app import app, state
from leadgate.cli.output import console, print_json
from leadgate.errors import UserError
from leadgate.lifecycle.decisions import known_reps, require_rep
from leadgate.routing.assign import Absence
from leadgate.routing.sla import local_day
from leadgate.service.scoring import utc_now
from leadgate.store.lifecycle_store import LifecycleStore
from leadgate.workspace import Workspace

reps_app = typer.Typer(
    help="The reps of the playbook's teams: who they are, their load, their absences.", no_args_is_help=True
)
app.add_typer(reps_app, name="reps")


class RepView(BaseModel):
    rep: str
    teams: list[str]
    manages: list[str]
    open_leads: int
    absences: list[dict[str, dt.date]]
    absent_today: bool


def _rep(workspace: Workspace, name: str) -> str:
    require_rep(workspace.playbook().model, name)
    return name


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
    model = workspace.playbook().model
    lifecycle = LifecycleStore(workspace.store)
    loads = lifecycle.open_leads_by_owner()
    absences = lifecycle.absences()
    today = local_day(model, utc_now())
    views = []
    for rep, teams in sorted(known_reps(model).items()):
        own = [absence for absence in absences if absence.rep == rep]
        views.append(
            RepView(
                rep=rep,
                teams=sorted(team for team in teams if rep in model.teams[team].members),
                manages=sorted(team for team in teams if model.teams[team].manager == rep),
                open_leads=loads.get(rep, 0),
                absences=[{"from": absence.start, "to": absence.end} for absence in own],
                absent_today=any(absence.covers(today) for absence in own),
            )
        )
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
    absence = Absence(_rep(workspace, rep), _date(start, "--from"), _date(end, "--to"))
    if absence.end < absence.start:
        raise UserError(f"--to {absence.end} is before --from {absence.start}")
    LifecycleStore(workspace.store).record_absence(absence, utc_now())
    console.print(f"{rep} is away from {absence.start} to {absence.end}.", highlight=False)


@reps_app.command("back")
def back(
    ctx: typer.Context,
    rep: str = typer.Argument(..., help="The rep."),
    start: str = typer.Option(..., "--from", help="The first day of the absence to cancel (YYYY-MM-DD)."),
) -> None:
    """Cancel an absence (the one starting on --from)."""
    workspace = state(ctx).workspace()
    lifecycle = LifecycleStore(workspace.store)
    name = _rep(workspace, rep)
    day = _date(start, "--from")
    found = [absence for absence in lifecycle.absences() if absence.rep == name and absence.start == day]
    if not found:
        raise UserError(f"{rep} has no absence starting on {day}")
    lifecycle.record_absence(found[0], utc_now(), cancelled=True)
    console.print(f"{rep} is no longer away from {found[0].start} to {found[0].end}.", highlight=False)
