"""``leadgate stages``, ``cycle``, ``queue``, the decisions and ``history``."""

from __future__ import annotations

import datetime as dt

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from leadgate.cli.app import app, parse_moment, past_moment, state
from leadgate.cli.output import console, number, print_json, spinner
from leadgate.errors import UserError
from leadgate.lifecycle.decisions import OUTCOME_KINDS, Decision
from leadgate.lifecycle.facts import LeadState
from leadgate.lifecycle.machine import transitions_of
from leadgate.service.cycle import run_cycle
from leadgate.service.decisions import apply_decision
from leadgate.service.history import MAX_EVENTS, lead_history
from leadgate.service.queue import describe_time_left, rep_queue
from leadgate.service.scoring import utc_now
from leadgate.workspace import Workspace

CYCLE_IN_FUTURE = "a cycle records its moves at that moment, and no cycle could then run before it"
LEAD_HELP = "The lead's id (its lead_id, as 'leadgate leads' and 'queue' show it)."
AT_HELP = "When the decision was made (ISO, UTC unless an offset is given; default: now)."
VERSION_HELP = "The lead's version you based the decision on (from 'queue --json'); refused if it moved since."


class StageRow(BaseModel):
    source: str
    target: str
    causes: list[str]
    meaning: str


@app.command()
def stages(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the table as JSON.")) -> None:
    """The stage machine of the playbook in force: every allowed move and what causes it."""
    model = state(ctx).workspace().playbook().model
    rows = [
        StageRow(source=row.source.value, target=row.target.value, causes=sorted(row.causes), meaning=row.meaning)
        for row in transitions_of(model)
    ]
    if as_json:
        print_json(rows)
        return
    table = Table("from", "to", "by", "meaning", title="Allowed stage transitions", title_justify="left")
    for row in rows:
        table.add_row(row.source, row.target, ", ".join(row.causes), row.meaning)
    console.print(table)


class CycleSummary(BaseModel):
    as_of: dt.datetime
    scoring: str
    leads_scored: int
    qualified: int
    requalified: int
    sql: int
    assigned: int
    to_manager_queue: int
    sla_breaches: int


@app.command()
def cycle(
    ctx: typer.Context,
    as_of: str | None = typer.Option(None, "--as-of", help="Run the cycle as of this time (default: now)."),
    full: bool = typer.Option(False, "--full", help="Rescore every lead, not only those touched since the last run."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Score what changed, move leads whose conditions hold, route new MQLs and PQLs, check SLAs.
    Running it twice adds nothing."""
    moment = past_moment(as_of, "--as-of", CYCLE_IN_FUTURE)
    workspace = state(ctx).workspace()
    with spinner("running the qualification cycle", enabled=not as_json):
        report = run_cycle(workspace.store, workspace.playbook(), moment, full=full)
    summary = CycleSummary(
        as_of=report.as_of,
        scoring=report.scoring.kind,
        leads_scored=report.scoring.leads_scored,
        qualified=report.qualified,
        requalified=report.requalified,
        sql=report.sql,
        assigned=report.assigned,
        to_manager_queue=report.to_manager_queue,
        sla_breaches=report.breaches,
    )
    if as_json:
        print_json(summary)
        return
    console.print(
        f"Cycle as of {summary.as_of:%Y-%m-%d %H:%M} UTC: scored {summary.leads_scored:,} leads ({summary.scoring}); "
        f"{summary.qualified} qualified ({summary.requalified} again after recycling), {summary.sql} became SQL; "
        f"{summary.assigned} assigned to reps, {summary.to_manager_queue} to a manager's queue; "
        f"{summary.sla_breaches} SLA breaches.",
        highlight=False,
    )


@app.command()
def queue(
    ctx: typer.Context,
    owner: str | None = typer.Option(None, "--owner", help="Only this rep's leads (default: everyone's)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Count the SLA time left as of this time (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print the queue as JSON."),
) -> None:
    """Leads awaiting acceptance or accepted, best score first, with the SLA time left."""
    workspace = state(ctx).workspace()
    items = rep_queue(workspace.store, workspace.playbook(), owner, parse_moment(as_of) or utc_now())
    if as_json:
        print_json([item.model_dump(mode="json") for item in items])
        return
    if not items:
        console.print(f"{owner} has no lead waiting." if owner else "No lead is assigned yet: run 'leadgate cycle'.")
        return
    table = Table(
        "lead",
        "account",
        "score",
        "stage",
        "owner",
        "SLA",
        "why it is hot",
        title=f"Queue of {owner or 'every rep'}",
        title_justify="left",
    )
    for item in items:
        sla = "accepted" if item.stage == "sal" else describe_time_left(item.sla_minutes_left)
        if item.breaches:
            sla += f" ({item.breaches} breach{'es' if item.breaches > 1 else ''} before)"
        table.add_row(
            item.lead_id, item.account_name or "-", number(item.score), item.stage, item.owner, sla, item.hot_because
        )
    console.print(table)


class DecisionResult(BaseModel):
    lead_id: str
    stage: str
    owner: str | None
    version: int
    cool_off_until: dt.datetime | None


def _decide(ctx: typer.Context, decision: Decision, as_json: bool) -> None:
    workspace: Workspace = state(ctx).workspace()
    result = apply_decision(workspace.store, workspace.playbook(), decision)
    _show_decision(decision, result, as_json)


def decision_result(lead_id: str, result: LeadState) -> DecisionResult:
    """What ``--json`` prints after a decision or a reassignment: the lead's state now."""
    return DecisionResult(
        lead_id=lead_id,
        stage=result.stage.value,
        owner=result.owner,
        version=result.version,
        cool_off_until=result.cool_off_until,
    )


def _show_decision(decision: Decision, result: LeadState, as_json: bool) -> None:
    summary = decision_result(decision.lead_id, result)
    if as_json:
        print_json(summary)
        return
    extra = f", may qualify again from {summary.cool_off_until:%Y-%m-%d}" if summary.cool_off_until else ""
    console.print(
        f"{decision.lead_id}: {decision.kind} recorded; the lead is now {summary.stage}{extra}.", highlight=False
    )


def _moment(text: str | None) -> dt.datetime:
    return past_moment(text, "--at", "a decision is recorded once it is made") or utc_now()


@app.command()
def accept(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    by: str = typer.Option(..., "--by", help="The rep who accepts (the owner, or their manager)."),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    expect_version: int | None = typer.Option(None, "--expect-version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Accept a lead awaiting acceptance: it becomes sales accepted (SAL)."""
    _decide(ctx, Decision("accept", lead_id, by, _moment(at), expected_version=expect_version), as_json)


@app.command()
def reject(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    by: str = typer.Option(..., "--by", help="The rep who rejects (the owner, or their manager)."),
    reason: str = typer.Option(..., "--reason", help="A reason code of the playbook (stages.sal.reject_reasons)."),
    note: str | None = typer.Option(None, "--note", help="What marketing should know."),
    duplicate_of: str | None = typer.Option(
        None, "--duplicate-of", help="For a reason that merges: the lead it duplicates."
    ),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    expect_version: int | None = typer.Option(None, "--expect-version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Reject a lead with a reason; the reason's consequence follows (recycle, disqualify, merge)."""
    decision = Decision(
        "reject",
        lead_id,
        by,
        _moment(at),
        reason=reason,
        note=note,
        duplicate_of=duplicate_of,
        expected_version=expect_version,
    )
    _decide(ctx, decision, as_json)


@app.command()
def qualify(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    by: str = typer.Option(..., "--by", help="The rep who qualifies."),
    checklist: str = typer.Option(..., "--checklist", help="The confirmed items, e.g. budget,authority,need,timeline."),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    expect_version: int | None = typer.Option(None, "--expect-version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Qualify an accepted lead as an SQL, confirming the playbook's checklist."""
    items = tuple(item.strip() for item in checklist.split(",") if item.strip())
    _decide(
        ctx, Decision("qualify", lead_id, by, _moment(at), checklist=items, expected_version=expect_version), as_json
    )


@app.command()
def disqualify(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    by: str = typer.Option(..., "--by", help="The rep who disqualifies."),
    reason: str = typer.Option(..., "--reason", help="A code of stages.disqualify_reasons."),
    note: str | None = typer.Option(None, "--note", help="Why, in words."),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    expect_version: int | None = typer.Option(None, "--expect-version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Take a lead out for good (student, competitor, spam, ...)."""
    decision = Decision(
        "disqualify", lead_id, by, _moment(at), reason=reason, note=note, expected_version=expect_version
    )
    _decide(ctx, decision, as_json)


@app.command()
def outcome(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    result: str = typer.Argument(..., metavar="opportunity|won|lost"),
    by: str = typer.Option(..., "--by", help="The rep who records it."),
    at: str | None = typer.Option(None, "--at", help=AT_HELP),
    expect_version: int | None = typer.Option(None, "--expect-version", help=VERSION_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Record an SQL's outcome: an opportunity was opened, or the deal was won or lost."""
    if result not in OUTCOME_KINDS:
        raise UserError(f"outcome {result!r}: write one of {', '.join(OUTCOME_KINDS)}")
    _decide(ctx, Decision(result, lead_id, by, _moment(at), expected_version=expect_version), as_json)


@app.command()
def history(
    ctx: typer.Context,
    lead_id: str = typer.Argument(..., metavar="LEAD", help=LEAD_HELP),
    events: int = typer.Option(
        MAX_EVENTS, "--events", min=0, help="Show at most this many of the latest events (0: only the hand-off)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the history as JSON."),
) -> None:
    """A lead's whole story: events, stage changes with the score at that moment, assignments,
    decisions and SLA breaches, with who and why."""
    story = lead_history(state(ctx).workspace().store, lead_id, max_events=events)
    if as_json:
        print_json(story)
        return
    console.print(
        f"[bold]{story.lead_id}[/] is {story.stage}"
        + (f", owned by {story.owner}" if story.owner else "")
        + f" (qualified {story.episode} time{'s' if story.episode != 1 else ''}; {story.events_total:,} events, "
        + (f"the latest {story.events_shown:,} shown)" if story.events_shown else "not shown)"),
        highlight=False,
    )
    table = Table("when (UTC)", "what", "who", "score", show_lines=False)
    for entry in story.entries:
        what = Text(entry.what, style="" if entry.kind == "event" else "bold")
        score = number(entry.score) if entry.score is not None else ""
        table.add_row(f"{entry.at:%Y-%m-%d %H:%M}", what, Text(entry.who or ""), score)
    console.print(table)
