"""``leadgate report``: the funnel in the terminal, as JSON, or as a self-contained HTML page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import DIMENSIONS
from leadgate.analytics.report import build_report, check_dimension
from leadgate.analytics.report_models import FunnelReport
from leadgate.analytics.tables import from_store
from leadgate.cli.app import app, parse_moment, state
from leadgate.cli.output import console, errors, number, print_json
from leadgate.errors import UserError


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _window(start_text: str | None, end_text: str | None, period: str) -> Window:
    start = parse_moment(start_text, "--from")
    end = parse_moment(end_text, "--to")
    if start is not None and end is not None and start >= end:
        raise UserError(f"--from {start_text} is not before --to {end_text}: the window would be empty")
    if period not in ("week", "month"):
        raise UserError(f"--cohort {period!r}: choose week or month")
    return Window(start, end, "week" if period == "week" else "month")


@app.command("report")
def report(
    ctx: typer.Context,
    start: str | None = typer.Option(
        None, "--from", help="Count leads that entered a stage from this date or time (UTC)."
    ),
    end: str | None = typer.Option(None, "--to", help="... and before this date or time (UTC)."),
    by: str | None = typer.Option(
        None, "--by", help=f"Split conversion and velocity by one of: {', '.join(DIMENSIONS)}."
    ),
    cohort: str = typer.Option("week", "--cohort", help="Group cohorts and trends by week or month."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole report as JSON."),
    html: Path | None = typer.Option(None, "--html", help="Also write the report with its charts as one HTML file."),
) -> None:
    """The funnel: cohort conversion between stages, velocity, SLA compliance, rejection reasons,
    recycled leads, score calibration and volume (definitions in docs/analytics.md)."""
    window = _window(start, end, cohort)
    check_dimension(by)
    workspace = state(ctx).workspace()
    tables = from_store(workspace.store)
    show_progress = not as_json and errors.is_terminal
    if show_progress:
        with errors.status("computing the funnel report") as status:
            built = build_report(tables, window, by, progress=lambda step: status.update(f"report: {step}"))
    else:
        built = build_report(tables, window, by)
    if html is not None:
        from leadgate.analytics.html_page import render_html  # plotly loads only for a page

        html.write_text(render_html(built, workspace.root.name, dt.datetime.now(dt.UTC)), encoding="utf-8")
    if as_json:
        print_json(built)
        return
    _show(built)
    if html is not None:
        console.print(f"Wrote {html}.", highlight=False)


def _show(built: FunnelReport) -> None:
    console.print(f"[bold]Funnel[/] of {built.leads:,} leads first known in the window (cohorts by {built.period})")
    funnel = Table("stage", "leads", "of inquiries")
    for stage in built.funnel:
        funnel.add_row(stage.stage, f"{stage.leads:,}", _percent(stage.share_of_inquiries))
    console.print(funnel)
    steps = Table("step", "entered", "converted", "rate", "median days", "p90 days", title="Conversion and velocity")
    durations = {(row.step_from, row.step_to): row for row in built.velocity}
    for row in built.conversion:
        duration = durations.get((row.step_from, row.step_to))
        steps.add_row(
            f"{row.step_from} → {row.step_to}",
            f"{row.entered:,}",
            f"{row.converted:,}",
            _percent(row.rate),
            number(duration.median_days if duration else None),
            number(duration.p90_days if duration else None),
        )
    console.print(steps)
    _show_cohorts(built)
    if built.by:
        _show_by(built)
    _show_hand_off(built)


def _show_cohorts(built: FunnelReport) -> None:
    """Per period: the leads entering each funnel stage (volume), and each step's cohort conversion."""
    periods = sorted({point.period for point in built.volume} | {row.cohort for row in built.trends if row.cohort})
    stages = [row.stage for row in built.funnel]
    volume = {(point.period, point.stage): point.leads for point in built.volume}
    entering = Table(built.period, *stages, title=f"Leads entering each stage, by {built.period}")
    for period in periods:
        entering.add_row(f"{period:%Y-%m-%d}", *(f"{volume.get((period, stage), 0):,}" for stage in stages))
    console.print(entering)
    steps = list(dict.fromkeys((row.step_from, row.step_to) for row in built.trends))
    rates = {(row.cohort, row.step_from, row.step_to): row.rate for row in built.trends}
    cohorts = Table(
        "cohort", *(f"{first} → {second}" for first, second in steps), title=f"Cohort conversion, by {built.period}"
    )
    for period in periods:
        cohorts.add_row(f"{period:%Y-%m-%d}", *(_percent(rates.get((period, *step))) for step in steps))
    console.print(cohorts)


def _show_by(built: FunnelReport) -> None:
    split = Table("step", built.by or "", "entered", "converted", "rate", "median days", title=f"By {built.by}")
    durations = {(row.step_from, row.step_to, row.value): row for row in built.velocity_by}
    for row in built.conversion_by:
        duration = durations.get((row.step_from, row.step_to, row.value))
        split.add_row(
            f"{row.step_from} → {row.step_to}",
            row.value or "",
            f"{row.entered:,}",
            f"{row.converted:,}",
            _percent(row.rate),
            number(duration.median_days if duration else None),
        )
    console.print(split)


def _show_hand_off(built: FunnelReport) -> None:
    sla = Table("owner or team", "on time", "breached", "open", "compliance", title="SLA to accept or reject")
    for row in built.sla:
        sla.add_row(
            row.value or "all", f"{row.on_time:,}", f"{row.breached:,}", f"{row.open:,}", _percent(row.compliance)
        )
    console.print(sla)
    first = Table("owner or team", "assignments", "median hours", "p90 hours", title="Assignment to first sales action")
    for action in built.first_action:
        first.add_row(action.value or "all", f"{action.count:,}", number(action.median_hours), number(action.p90_hours))
    console.print(first)
    reasons = Table("reason", "rejections", "share", "cumulative", title="Rejection reasons (Pareto)")
    for reason in built.reject_reasons:
        reasons.add_row(reason.reason, f"{reason.count:,}", _percent(reason.share), _percent(reason.cumulative_share))
    console.print(reasons)
    bands = Table("score band", "qualified", "became SQL", "won", title="Conversion by rule score at qualification")
    for band in built.score_bands:
        bands.add_row(f"{band.band:g}", f"{band.leads:,}", _percent(band.sql_rate), _percent(band.won_rate))
    console.print(bands)
    recycled = built.recycled
    console.print(
        f"Recycled: {recycled.recycled:,} leads; {recycled.qualified:,} qualified again, {recycled.sal:,} accepted, "
        f"{recycled.sql:,} became SQL, {recycled.won:,} won.",
        highlight=False,
    )
    model = built.model_calibration
    if model is None:
        console.print("No predictive model yet: its calibration is left out (see leadgate train).", style="dim")
        return
    curve = Table(
        "mean predicted",
        "observed rate",
        "episodes",
        title=f"Predictive model {model.model_version} on its {model.episodes} validation episodes "
        f"(converted means {model.converts_at}; ECE {model.expected_calibration_error:.3f})",
    )
    for item in model.bins:
        curve.add_row(_percent(item.mean_predicted), _percent(item.observed_rate), f"{item.count:,}")
    console.print(curve)
