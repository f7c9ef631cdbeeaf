"""``leadgate init``, ``settings``, ``simulate`` and ``demo``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from leadgate.cli.app import app, parse_moment, state
from leadgate.cli.output import console, errors, number, print_json, spinner
from leadgate.cli.views import leads_table, scored_leads, stage_counts
from leadgate.errors import UserError
from leadgate.service.history import richest_story
from leadgate.service.queue import rep_queue
from leadgate.service.scoring import run_scoring, utc_now
from leadgate.service.users import create_user
from leadgate.settings import SETTINGS_FILE
from leadgate.store.opening import shown_setting
from leadgate.workspace import Workspace, init_workspace


@app.command()
def init(
    directory: Path = typer.Argument(..., help="The folder to create (or to turn into a workspace)."),
    force: bool = typer.Option(False, "--force", help="Start an existing workspace over (its database is deleted)."),
) -> None:
    """Create a workspace: settings (leadgate.toml), an example playbook, an empty DuckDB database."""
    workspace = init_workspace(directory, force=force)
    workspace.close()
    database = workspace.database if isinstance(workspace.database, str) else workspace.database_path.name
    console.print(
        f"Created a leadgate workspace in {directory}:\n"
        f"  {SETTINGS_FILE}   settings\n  {workspace.playbook_path.name}   the example playbook (edit it)\n"
        f"  {shown_setting('database', database)}   the facts and scores\n"
        f"Next: cd {directory} && leadgate import events FILE, or leadgate simulate --leads 2000 --days 120",
        highlight=False,
    )


class SettingValue(BaseModel):
    name: str
    value: object
    source: str
    help: str


@app.command()
def settings(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the settings as JSON.")
) -> None:
    """Every setting with its value and where the value comes from (flag, environment, leadgate.toml, default)."""
    workspace = state(ctx).workspace()
    values = [
        SettingValue(name=name, value=shown_setting(name, item.value), source=item.source, help=item.setting.help)
        for name, item in workspace.settings.items()
    ]
    if as_json:
        print_json(values)
        return
    table = Table("setting", "value", "source", "meaning")
    for item in values:
        table.add_row(item.name, str(item.value), item.source, item.help)
    console.print(table)


def _simulation_progress(enabled: bool) -> tuple[Progress | None, object]:
    if not (enabled and errors.is_terminal):
        return None, None
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=errors, transient=True
    )
    tasks: dict[str, object] = {}

    def advance(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = progress.add_task(step, total=total)
        progress.update(tasks[step], completed=done, total=total)  # type: ignore[arg-type]

    return progress, advance


def _simulate(
    workspace: Workspace | None,
    to_files: Path | None,
    leads: int,
    days: int,
    seed: int,
    end: dt.datetime,
    show: bool,
    sales: bool = True,
) -> tuple[Any, Any]:
    """The simulation's summary, and the sales play's (None when there is none)."""
    from leadgate.simulate import play_sales, simulate_into_store, write_simulation_files  # numpy loads on demand

    progress, advance = _simulation_progress(show)
    if progress is not None:
        progress.start()
    try:
        if to_files is not None:
            return write_simulation_files(to_files, leads, days, seed, end, progress=advance), None  # type: ignore[arg-type]
        assert workspace is not None
        summary = simulate_into_store(workspace.store, leads, days, seed, end, progress=advance)  # type: ignore[arg-type]
        if not sales:
            return summary, None
        start = end - dt.timedelta(days=days)
        played = play_sales(workspace.store, workspace.playbook(), seed, start, end, progress=advance)  # type: ignore[arg-type]
        return summary, played
    finally:
        if progress is not None:
            progress.stop()


def describe(summary: Any) -> str:
    """A simulation summary in one sentence."""
    return (
        f"{summary.accounts:,} accounts, {summary.leads:,} leads and {summary.anonymous_visitors:,} anonymous "
        f"visitors; {summary.events:,} events from {summary.start:%Y-%m-%d} to {summary.end:%Y-%m-%d}; "
        f"{summary.sql_leads:,} leads became SQL and {summary.converted_leads:,} were won (the ground truth is in "
        "the simulation_truth table)"
    )


def _today() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)


@app.command()
def simulate(
    ctx: typer.Context,
    leads: int = typer.Option(2000, "--leads", min=1, help="How many contacts."),
    days: int = typer.Option(120, "--days", min=1, help="How many days of history, ending at --end."),
    seed: int = typer.Option(1, "--seed", help="The random seed: the same seed and --end give the same history."),
    end: str | None = typer.Option(None, "--end", help="When the history ends (default: today, 00:00 UTC)."),
    sales: bool = typer.Option(
        True,
        "--sales/--no-sales",
        help="Also play the sales side: daily cycles and the reps' decisions through the real decision path.",
    ),
    to_files: Path | None = typer.Option(
        None,
        "--to-files",
        help="Write importable files (events.jsonl, leads.csv, accounts.csv; and truth.csv, the answer key) to this folder instead "
        "(no sales side: it needs a workspace).",
    ),
    crm_table: Path | None = typer.Option(
        None,
        "--crm-table",
        help="Write a CRM-style lead table of the same history to this CSV (or .parquet) file instead, for "
        "'leadgate train --csv' (no workspace needed).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Fill the workspace with a realistic synthetic history (accounts, contacts, events, outcomes), then play the
    sales side over it (cycles, assignments, accepts, rejections with reasons, SLA breaches, SQLs, won and lost)."""
    moment = parse_moment(end, "--end") or _today()
    if crm_table is not None:
        _write_crm_table(crm_table, leads, days, seed, moment, as_json)
        return
    workspace = None if to_files is not None else state(ctx).workspace()
    summary, played = _simulate(workspace, to_files, leads, days, seed, moment, not as_json, sales)
    if as_json:
        print_json({**summary.__dict__, "events": summary.events, "sales": played.as_dict() if played else None})
        return
    where = f"files in {to_files}" if to_files else f"the workspace {workspace.root if workspace else ''}"
    console.print(f"Simulated into {where}: {describe(summary)}", highlight=False)
    if played is not None:
        console.print(f"Sales side: {played.describe()}.", highlight=False)


def _write_crm_table(path: Path, leads: int, days: int, seed: int, end: dt.datetime, as_json: bool) -> None:
    from leadgate.simulate.crm_table import write_simulated_crm_table  # numpy loads on demand

    with spinner("simulating the lead table", not as_json):
        written = write_simulated_crm_table(path, leads, days, seed, end)
    if as_json:
        print_json(written.__dict__)
        return
    console.print(
        f"Wrote {written.rows:,} leads ({written.converted:,} converted) to {written.path}: the target is "
        f"'{written.target}', and '{written.leaky_column}' is filled in after the outcome (a leak to catch).",
        highlight=False,
    )


@app.command()
def demo(
    directory: Path = typer.Argument(
        Path("demo-workspace"), help="The folder of the demo workspace (started over if it exists)."
    ),
    leads: int = typer.Option(2000, "--leads", min=1, help="How many contacts to simulate."),
    days: int = typer.Option(120, "--days", min=1, help="How many days of history."),
    seed: int = typer.Option(7, "--seed", help="The random seed."),
) -> None:
    """Build a sample workspace (init, simulate with its sales side, score) and show its top leads and what to try."""
    workspace = init_workspace(directory, force=True)
    try:
        end = utc_now().replace(minute=0, second=0, microsecond=0)  # up to this hour: SLA clocks are live
        summary, played = _simulate(workspace, None, leads, days, seed, end, True)
        playbook = workspace.playbook()
        with spinner("scoring leads"):
            run = run_scoring(workspace.store, playbook, end)
        console.print(f"[bold]leadgate demo[/] — workspace {directory}", highlight=False)
        console.print(f"Simulated {describe(summary)}", highlight=False)
        console.print(f"Sales side: {played.describe()}.", highlight=False)
        console.print(
            f"Scored {run.leads_scored:,} leads in {run.seconds:.2f} s as of {run.as_of:%Y-%m-%d %H:%M} UTC.",
            highlight=False,
        )
        console.print(_learn(workspace), highlight=False)
        stages = stage_counts(workspace.store)
        console.print("Stages: " + ", ".join(f"{name} {count:,}" for name, count in stages.items()), highlight=False)
        top = scored_leads(workspace.store, playbook, None, 10)
        console.print(leads_table(top))
        console.print("\nNext:\n" + "\n".join(_next_steps(workspace, directory, top)), highlight=False)
        console.print("\n" + "\n".join(_web_app_steps(workspace, directory)), highlight=False)
    finally:
        workspace.close()


def _learn(workspace: Workspace) -> str:
    """Train the predictive model on the demo's history and predict every lead (the lead pages show
    p_convert); a history too thin for the minimum-data rule says so instead."""
    from leadgate.predict.history_training import predict_current, train_from_history  # LightGBM on demand

    playbook = workspace.playbook()
    try:
        with spinner("training the predictive model"):
            trained = train_from_history(workspace.store, playbook)
            run = predict_current(workspace.store, playbook)
    except UserError as reason:
        return f"No predictive model: {reason}"
    return (
        f"Trained predictive model version {trained.record.version} "
        f"(validation ROC AUC {number(trained.record.metrics['roc_auc'], 2)}) and predicted {run.leads:,} leads."
    )


DEMO_PASSWORD = "leadgate-demo"
DEMO_MARKETER = "mia"


def _web_app_steps(workspace: Workspace, directory: Path) -> list[str]:
    """Users for every rep and manager of the demo's playbook and one marketer, and how to sign in."""
    model = workspace.playbook().model
    now = utc_now()
    people: dict[str, str] = {}
    for team in model.teams.values():
        people.update({member: "sales" for member in team.members if member not in people})
        if team.manager:
            people[team.manager] = "manager"
    people[DEMO_MARKETER] = "marketing"
    for name, role in people.items():
        create_user(workspace.store, model, name, role, None, DEMO_PASSWORD, now)
    rep = next(name for name, role in people.items() if role == "sales")
    manager = next((name for name, role in people.items() if role == "manager"), None)
    who = f"{rep} (sales)" + (f", {manager} (manager)" if manager else "") + f" or {DEMO_MARKETER} (marketing)"
    return [
        "The web app, for sales and marketing:",
        f"  leadgate -w {directory} serve      then open http://127.0.0.1:8000/app/",
        f"  sign in as {who}; every demo user's password is {DEMO_PASSWORD}",
    ]


def _next_steps(workspace: Workspace, directory: Path, top: list[Any]) -> list[str]:
    """Commands worth trying on the demo workspace, with real lead ids and reps."""
    steps = []
    waiting = [
        item
        for item in rep_queue(workspace.store, workspace.playbook(), None, utc_now())
        if item.stage == "sal_pending"
    ]
    if waiting:
        first, second = waiting[0], waiting[-1]
        steps += [
            f"  leadgate -w {directory} queue --owner {first.owner}      what {first.owner} must accept or reject",
            f"  leadgate -w {directory} accept {first.lead_id} --by {first.owner}",
        ]
        if second is not first:
            steps.append(
                f"  leadgate -w {directory} reject {second.lead_id} --by {second.owner} --reason bad_timing "
                "--note 'budget next year'"
            )
    told = richest_story(workspace.store)
    if told is not None:
        steps.append(f"  leadgate -w {directory} history {told}      a lead's whole story, with who and why")
    if top:
        steps.append(f"  leadgate -w {directory} explain {top[0].lead_id}      why this lead scores {top[0].score:.0f}")
    steps.append(f"  edit {directory}/playbook.yaml, then: leadgate playbook validate {directory}/playbook.yaml")
    return steps
