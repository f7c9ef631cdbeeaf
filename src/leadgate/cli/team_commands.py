"""``leadgate reassign``: a manager gives a lead to another rep of its team."""

from __future__ import annotations

import typer

from leadgate.cli.app import app, past_moment, state
from leadgate.cli.lifecycle_commands import LEAD_HELP, decision_result
from leadgate.cli.output import console, print_json
from leadgate.lifecycle.reassign import Reassignment
from leadgate.service.reassign import reassign_lead
from leadgate.service.scoring import utc_now


@app.command()
def reassign(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    to: str = typer.Option(..., "--to", help="The rep who takes the lead: a member of its team, not away that day."),
    by: str = typer.Option(..., "--by", help="The manager of the lead's team, who moves it."),
    at: str | None = typer.Option(
        None, "--at", help="When the lead was moved (ISO, UTC unless an offset is given; default: now)."
    ),
    expect_version: int | None = typer.Option(
        None, "--expect-version", help="The lead's version you based the move on; refused if it moved since."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Give an assigned lead to another rep of its team; a lead awaiting acceptance gets a new SLA deadline."""
    moment = past_moment(at, "--at", "a move is recorded once it is made") or utc_now()
    workspace = state(ctx).workspace()
    result = reassign_lead(workspace.store, workspace.playbook(), Reassignment(lead_id, to, by, moment, expect_version))
    summary = decision_result(lead_id, result)
    if as_json:
        print_json(summary)
        return
    due = f"; the decision is due by {result.due_at:%Y-%m-%d %H:%M} UTC" if result.due_at else ""
    console.print(f"{lead_id} is now {result.owner}'s ({summary.stage}){due}.", highlight=False)
