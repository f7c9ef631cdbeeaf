"""``leadgate backtest`` and ``leadgate tune``: learning from the recorded history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from leadgate.analytics.backtest import Window
from leadgate.analytics.backtest_figures import run_backtest
from leadgate.analytics.backtest_models import BacktestReport, Load, PlaybookFigures
from leadgate.analytics.backtest_outcomes import history_span
from leadgate.cli.app import app, parse_moment, state
from leadgate.cli.output import console, number, print_json, step_progress
from leadgate.errors import UserError
from leadgate.playbook.loader import load_playbook
from leadgate.service.scoring import utc_now
from leadgate.store.lifecycle_store import LifecycleStore

if TYPE_CHECKING:
    from leadgate.analytics.feedback import TuneReport

SHOWN_LEADS = 20


@app.command()
def backtest(
    ctx: typer.Context,
    candidate: Path = typer.Argument(..., metavar="CANDIDATE.yaml", help="The playbook to try on the history."),
    start: str | None = typer.Option(None, "--from", help="Start of the window (default: the first event)."),
    end: str | None = typer.Option(None, "--to", help="End of the window (default: the latest event or decision)."),
    every: str = typer.Option("week", "--every", help="How often to evaluate the playbooks: day or week."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Replay the history under a candidate playbook beside the one in force: volumes, load, SLA pressure,
    conversions captured and missed, precision and recall (docs/backtest.md)."""
    first, second = parse_moment(start, "--from"), parse_moment(end, "--to")
    if every not in ("day", "week"):
        raise UserError(f"--every {every!r}: write day or week")
    workspace = state(ctx).workspace()
    proposed = load_playbook(candidate)
    current = workspace.playbook()
    store = workspace.store
    if first is None or second is None:
        earliest, latest = history_span(store)
        latest = max(latest, LifecycleStore(store).latest_fact_at() or latest)
        first, second = first or earliest, second or latest
    window = Window(first, second, every)  # type: ignore[arg-type]
    with step_progress("replaying checkpoints", not as_json) as advance:
        report = run_backtest(store, current, proposed, window, advance)
    if as_json:
        print_json(report)
        return
    print_backtest(report)


def print_backtest(report: BacktestReport) -> None:
    """The report for people: the two playbooks side by side, then what the candidate changes."""
    current, candidate = report.current, report.candidate
    console.print(
        f"[bold]Backtest[/] {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC, every {report.every} "
        f"({report.checkpoints} checkpoints, {report.business_days} business days; SLA {report.sla or 'none'})",
        highlight=False,
    )
    summary = Table(title="Both playbooks", title_justify="left")
    summary.add_column("")
    summary.add_column(f"current: {current.name} v{current.version}", justify="right")
    summary.add_column(f"candidate: {candidate.name} v{candidate.version}", justify="right")
    for label, read in (
        ("leads passed", lambda figures: f"{figures.passed:,}"),
        ("MQL", lambda figures: f"{figures.mql:,}"),
        ("PQL", lambda figures: f"{figures.pql:,}"),
        ("passed and converted", lambda figures: f"{figures.converted_passed:,}"),
        ("precision", lambda figures: _share(figures.precision)),
        ("recall", lambda figures: _share(figures.recall)),
    ):
        summary.add_row(label, read(current), read(candidate))
    console.print(summary)
    console.print(_weeks_table(current, candidate))
    console.print(_load_table("Load per team", current.teams, candidate.teams))
    console.print(
        _load_table("Load per rep (leads per business day: mean, busiest week)", current.reps, candidate.reps)
    )
    _print_conversions(report)
    console.print("Assumptions: " + "; ".join(report.assumptions) + ".", style="dim", highlight=False)
    for note in report.notes:
        console.print(f"Note: {note}.", style="dim", highlight=False)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _weeks_table(current: PlaybookFigures, candidate: PlaybookFigures) -> Table:
    table = Table(title="MQL and PQL per week", title_justify="left")
    for column in ("week", "MQL current", "MQL candidate", "PQL current", "PQL candidate"):
        table.add_column(column, justify="right")
    now = {week.week: week for week in current.weeks}
    then = {week.week: week for week in candidate.weeks}
    for week in sorted(now.keys() | then.keys()):
        a, b = now.get(week), then.get(week)
        table.add_row(
            f"{week:%Y-%m-%d}",
            str(a.mql if a else 0),
            str(b.mql if b else 0),
            str(a.pql if a else 0),
            str(b.pql if b else 0),
        )
    return table


def _load_table(title: str, current: list[Load], candidate: list[Load]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("", "leads current", "leads candidate", "per day current", "per day candidate", "busiest week"):
        table.add_column(column, justify="right")
    now = {load.name: load for load in current}
    then = {load.name: load for load in candidate}
    for name in sorted(now.keys() | then.keys()):
        a, b = now.get(name), then.get(name)
        table.add_row(
            name,
            number(a.leads if a else 0),
            number(b.leads if b else 0),
            number(a.per_business_day if a else 0, 2),
            number(b.per_business_day if b else 0, 2),
            f"{number(a.busiest_week_per_business_day if a else 0, 2)} -> "
            f"{number(b.busiest_week_per_business_day if b else 0, 2)}",
        )
    return table


def _print_conversions(report: BacktestReport) -> None:
    shift = report.shift
    console.print(
        f"Conversions in the window: {report.converted:,}; the candidate captures {report.captured:,} and misses "
        f"{report.missed:,}. Of those both pass ({shift.leads:,}), it passes {shift.earlier:,} earlier, "
        f"{shift.same:,} at the same checkpoint and {shift.later:,} later (median {_days(shift.median_days)}, "
        f"p90 {_days(shift.p90_days)}).",
        highlight=False,
    )
    for title, leads in (
        ("Converted leads the candidate would have lost", report.lost),
        ("Converted leads only the candidate passes", report.gained),
    ):
        if not leads:
            continue
        table = Table(title=f"{title} ({len(leads):,})", title_justify="left")
        for column in ("lead", "converted at", "passed at"):
            table.add_column(column)
        for lead in leads[:SHOWN_LEADS]:
            table.add_row(lead.lead_id, f"{lead.converted_at:%Y-%m-%d %H:%M}", f"{lead.passed_at:%Y-%m-%d %H:%M}")
        console.print(table)
        if len(leads) > SHOWN_LEADS:
            console.print(f"... and {len(leads) - SHOWN_LEADS:,} more (see --json)", highlight=False)


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} days"


@app.command()
def tune(
    ctx: typer.Context,
    as_of: str | None = typer.Option(None, "--as-of", help="Read the facts recorded up to this time (default: now)."),
    version: int | None = typer.Option(
        None, "--version", min=1, help="Only the episodes that qualified under this playbook version (default: all)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Rule and reason feedback: per rule MQLs, acceptance, SQL and won rates, lift; rejection reasons by source,
    campaign, rep and rule; suggested points with their expected effect (docs/tune.md)."""
    from leadgate.analytics.feedback import tune as tune_playbook  # scikit-learn loads on demand

    moment = parse_moment(as_of) or utc_now()
    workspace = state(ctx).workspace()
    playbook = workspace.playbook()
    if version is not None:
        from leadgate.store.playbook_store import PlaybookStore

        known = sorted({record.version for record in PlaybookStore(workspace.store).history()} | {playbook.version})
        if version not in known:
            raise UserError(f"--version {version}: no such playbook version (known: {', '.join(map(str, known))})")
    report = tune_playbook(workspace.store, playbook, moment, version)
    if as_json:
        print_json(report)
        return
    print_tune(report)


def print_tune(report: TuneReport) -> None:
    console.print(
        f"[bold]Rule feedback[/] as of {report.as_of:%Y-%m-%d %H:%M} UTC"
        + (f", playbook version {report.playbook_version}" if report.playbook_version is not None else "")
        + f": {report.episodes:,} qualification episodes "
        f"({report.closed:,} closed); base SQL rate {_share(report.base_sql_rate)}",
        highlight=False,
    )
    rules = Table(title="Rules", title_justify="left")
    for column in ("rule", "points", "MQLs", "accepted", "SQL", "won", "lift"):
        rules.add_column(column, justify="left" if column == "rule" else "right")
    for rule in sorted(report.rules, key=lambda item: -item.mqls):
        lift = "-" if rule.lift is None else f"{rule.lift:.2f}"
        rules.add_row(
            f"{rule.label} [dim]({rule.rule})[/]",
            number(rule.points),
            f"{rule.mqls:,}",
            _share(rule.acceptance_rate),
            _share(rule.sql_rate),
            _share(rule.won_rate),
            lift,
        )
    console.print(rules)
    reasons = Table(title="Rejection reasons", title_justify="left")
    for column in ("by", "value", "reason", "rejections"):
        reasons.add_column(column, justify="right" if column == "rejections" else "left")
    for item in report.reasons:
        reasons.add_row(item.by, item.value, item.reason, f"{item.count:,}")
    console.print(reasons)
    if report.suggestions:
        suggestions = Table(title="Suggested points (expected effect on MQLs)", title_justify="left")
        for column in ("rule", "points", "suggested", "MQL volume", "precision now", "precision then"):
            suggestions.add_column(column, justify="left" if column == "rule" else "right")
        for suggestion in report.suggestions:
            change = (
                "-"
                if suggestion.mql_volume_change is None
                else f"{suggestion.mql_volume} ({suggestion.mql_volume_change:+.1%})"
            )
            suggestions.add_row(
                suggestion.rule,
                number(suggestion.points),
                number(suggestion.suggested),
                change,
                _share(suggestion.precision_now),
                _share(suggestion.precision),
            )
        console.print(suggestions)
    for note in report.notes:
        console.print(note, style="dim", highlight=False)
