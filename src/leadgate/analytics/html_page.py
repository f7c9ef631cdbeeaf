"""The report as one self-contained HTML page: plotly's JavaScript embedded once, so the file
opens offline, anywhere, and can be mailed around."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from leadgate.analytics.charts import CHARTS
from leadgate.analytics.report_models import FunnelReport

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1200px; color: #0f172a; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 28px; }
p.sub { color: #475569; margin-top: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e2e8f0; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f8fafc; }
"""


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _number(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(header)}</th>" for header in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _window(report: FunnelReport) -> str:
    start = report.start.isoformat(sep=" ") if report.start else "the first fact"
    end = report.end.isoformat(sep=" ") if report.end else "the last fact"
    return f"from {start} to {end}"


def _tables(report: FunnelReport) -> str:
    conversion = _table(
        ["step", "entered", "converted", "rate"],
        [
            (f"{r.step_from} → {r.step_to}", f"{r.entered:,}", f"{r.converted:,}", _percent(r.rate))
            for r in report.conversion
        ],
    )
    velocity = _table(
        ["step", "leads", "median days", "p90 days"],
        [
            (f"{r.step_from} → {r.step_to}", f"{r.count:,}", _number(r.median_days), _number(r.p90_days))
            for r in report.velocity
        ],
    )
    parts = [
        f"<div class='grid'><div><h2>Conversion</h2>{conversion}</div><div><h2>Velocity</h2>{velocity}</div></div>"
    ]
    if report.by:
        by_rows = [
            (f"{r.step_from} → {r.step_to}", r.value, f"{r.entered:,}", f"{r.converted:,}", _percent(r.rate))
            for r in report.conversion_by
        ]
        parts.append(
            f"<h2>Conversion by {escape(report.by)}</h2>"
            + _table(["step", report.by, "entered", "converted", "rate"], by_rows)
        )
    recycled = report.recycled
    parts.append(
        "<h2>Recycled leads that came back</h2>"
        + _table(
            ["recycled", "qualified again", "accepted", "SQL", "won"],
            [(recycled.recycled, recycled.qualified, recycled.sal, recycled.sql, recycled.won)],
        )
    )
    first = _table(
        ["owner or team", "assignments", "median hours", "p90 hours"],
        [
            (r.value or "all", f"{r.count:,}", _number(r.median_hours), _number(r.p90_hours))
            for r in report.first_action
        ],
    )
    parts.append(f"<h2>From assignment to first sales action</h2>{first}")
    return "\n".join(parts)


def render_html(report: FunnelReport, workspace_name: str, generated_at: dt.datetime) -> str:
    """The whole page as text."""
    charts = []
    figures = [chart(report) for chart in CHARTS]
    for index, figure in enumerate(figure for figure in figures if figure is not None):
        charts.append(
            figure.to_html(
                full_html=False, include_plotlyjs=index == 0, config={"displaylogo": False, "displayModeBar": False}
            )
        )
    half = [f"<div>{chart}</div>" for chart in charts[1:]]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>leadgate funnel report: {escape(workspace_name)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Funnel report: {escape(workspace_name)}</h1>"
        f"<p class='sub'>{report.leads:,} leads first known {escape(_window(report))}; cohorts by {report.period}; "
        f"generated {generated_at:%Y-%m-%d %H:%M} UTC. Definitions: docs/analytics.md.</p>"
        f"{charts[0]}<div class='grid'>{''.join(half)}</div>{_tables(report)}</body></html>"
    )
