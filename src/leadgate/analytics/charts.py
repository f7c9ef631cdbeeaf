"""The report's charts, as plotly figures drawn from a :class:`FunnelReport` (no engine access)."""

from __future__ import annotations

from collections.abc import Callable

from plotly import graph_objects as go
from plotly.subplots import make_subplots

from leadgate.analytics.report_models import FunnelReport

COLOURS = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#64748b")
STAGE_LABELS = {
    "inquiry": "Inquiry",
    "qualified": "MQL or PQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}


def _layout(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    figure.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
        colorway=COLOURS,
    )
    return figure


def funnel_chart(report: FunnelReport) -> go.Figure:
    figure = go.Figure(
        go.Funnel(
            y=[STAGE_LABELS[row.stage] for row in report.funnel],
            x=[row.leads for row in report.funnel],
            textinfo="value+percent initial",
            marker={"color": COLOURS[0]},
        )
    )
    return _layout(figure, "Funnel of the leads first known in the window", 380)


def trend_chart(report: FunnelReport) -> go.Figure:
    figure = go.Figure()
    steps = dict.fromkeys((row.step_from, row.step_to) for row in report.trends)
    for source, target in steps:
        points = [
            row for row in report.trends if (row.step_from, row.step_to) == (source, target) and row.rate is not None
        ]
        figure.add_trace(
            go.Scatter(
                x=[row.cohort for row in points],
                y=[row.rate for row in points],
                mode="lines+markers",
                name=f"{source} → {target}",
                customdata=[[row.converted, row.entered] for row in points],
                hovertemplate="%{y:.1%} (%{customdata[0]} of %{customdata[1]})",
            )
        )
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(figure, f"Conversion by {report.period}ly cohort (entry into the first stage)")


def velocity_chart(report: FunnelReport) -> go.Figure:
    figure = go.Figure()
    steps = dict.fromkeys((row.step_from, row.step_to) for row in report.velocity_histogram)
    for source, target in steps:
        bins = [row for row in report.velocity_histogram if (row.step_from, row.step_to) == (source, target)]
        figure.add_trace(
            go.Bar(
                x=[row.day for row in bins], y=[row.leads for row in bins], name=f"{source} → {target}", opacity=0.75
            )
        )
    figure.update_layout(barmode="overlay")
    figure.update_xaxes(title="days (the last bar: 60 or more)")
    figure.update_yaxes(title="leads")
    return _layout(figure, "How long the steps take")


def pareto_chart(report: FunnelReport) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    reasons = report.reject_reasons
    figure.add_trace(go.Bar(x=[row.reason for row in reasons], y=[row.count for row in reasons], name="rejections"))
    figure.add_trace(
        go.Scatter(
            x=[row.reason for row in reasons],
            y=[row.cumulative_share for row in reasons],
            name="cumulative share",
            mode="lines+markers",
        ),
        secondary_y=True,
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, secondary_y=True)
    return _layout(figure, "Why sales rejected leads (Pareto)")


def calibration_chart(report: FunnelReport) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    bands = report.score_bands
    labels = [f"{row.band:g}" for row in bands]
    figure.add_trace(
        go.Bar(x=labels, y=[row.leads for row in bands], name="qualified leads", marker={"color": "#cbd5e1"})
    )
    figure.add_trace(
        go.Scatter(x=labels, y=[row.sql_rate for row in bands], name="became SQL", mode="lines+markers"),
        secondary_y=True,
    )
    figure.add_trace(
        go.Scatter(x=labels, y=[row.won_rate for row in bands], name="won", mode="lines+markers"), secondary_y=True
    )
    figure.update_xaxes(title="rule score at qualification (band's lower bound)")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, secondary_y=True)
    return _layout(figure, "Score calibration: conversion by score band")


def model_calibration_chart(report: FunnelReport) -> go.Figure | None:
    """The latest model on its validation episodes: observed rate against mean predicted."""
    model = report.model_calibration
    if model is None:
        return None
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, 1], y=[0, 1], name="perfect calibration", mode="lines", line={"dash": "dot"}))
    figure.add_trace(
        go.Scatter(
            x=[item.mean_predicted for item in model.bins],
            y=[item.observed_rate for item in model.bins],
            text=[f"{item.count} episodes" for item in model.bins],
            name=f"model {model.model_version}",
            mode="lines+markers",
        )
    )
    figure.update_xaxes(title="mean predicted probability", range=[0, 1], tickformat=".0%")
    figure.update_yaxes(title=f"observed rate ({model.converts_at})", range=[0, 1], tickformat=".0%")
    title = (
        f"Predictive probability on {model.episodes} validation episodes (ECE {model.expected_calibration_error:.3f})"
    )
    return _layout(figure, title)


def sla_chart(report: FunnelReport) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    rows = report.sla_by_cohort
    cohorts = [row.cohort for row in rows]
    figure.add_trace(go.Bar(x=cohorts, y=[row.on_time for row in rows], name="on time", marker={"color": "#16a34a"}))
    figure.add_trace(go.Bar(x=cohorts, y=[row.breached for row in rows], name="breached", marker={"color": "#dc2626"}))
    figure.add_trace(go.Bar(x=cohorts, y=[row.open for row in rows], name="open", marker={"color": "#cbd5e1"}))
    figure.add_trace(
        go.Scatter(x=cohorts, y=[row.compliance for row in rows], name="compliance", mode="lines+markers"),
        secondary_y=True,
    )
    figure.update_layout(barmode="stack")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, secondary_y=True)
    return _layout(figure, f"SLA compliance by {report.period} of assignment")


def volume_chart(report: FunnelReport) -> go.Figure:
    figure = go.Figure()
    for stage in ("inquiry", "mql", "pql", "sal", "sql", "won"):
        points = [row for row in report.volume if row.stage == stage]
        if points:
            figure.add_trace(
                go.Scatter(
                    x=[row.period for row in points], y=[row.leads for row in points], name=stage, mode="lines+markers"
                )
            )
    figure.update_yaxes(title="leads entering the stage")
    return _layout(figure, f"Volume by {report.period}")


# The page's charts in order; one that has nothing to show (no model yet) returns None.
CHARTS: tuple[Callable[[FunnelReport], go.Figure | None], ...] = (
    funnel_chart,
    trend_chart,
    velocity_chart,
    pareto_chart,
    calibration_chart,
    model_calibration_chart,
    sla_chart,
    volume_chart,
)
