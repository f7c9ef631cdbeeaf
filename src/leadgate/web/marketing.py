"""The marketer's reading pages: the funnel dashboard and the rules-and-reasons page.

Both show figures computed elsewhere (the funnel report of ``leadgate report`` and the rule
feedback of ``leadgate tune``): the pages only choose the window or version and lay the figures
out. The charts are the report's plotly figures; plotly's JavaScript is served from the installed
package, so the app works offline, and every chart has a table beside it for a browser without
JavaScript (or a screen reader).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import plotly
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from leadgate.analytics.charts import CHARTS
from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import DIMENSIONS, STAGES
from leadgate.analytics.report import build_report
from leadgate.analytics.report_models import FunnelReport
from leadgate.analytics.tables import from_store
from leadgate.errors import UserError
from leadgate.service.playbooks import MAX_VERSION, PlaybookVersions
from leadgate.service.users import Viewer
from leadgate.web.pages import render, require_role, runtime_of, signed_in

MARKETING_ROLES = ("marketing", "admin")
PLOTLY_JS = Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
CHART_CONFIG = {"displaylogo": False, "responsive": True}

router = APIRouter()


def marketer(viewer: Annotated[Viewer, Depends(signed_in)]) -> Viewer:
    """The signed-in user, if marketing or admin (else a 403 page)."""
    require_role(viewer, *MARKETING_ROLES)
    return viewer


@router.get("/assets/plotly.min.js", include_in_schema=False)
def plotly_script() -> FileResponse:
    """plotly's JavaScript, from the installed package: no CDN, so the charts work offline."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})


def day_of(text: str | None, label: str) -> dt.date | None:
    """A date of a form (``2026-11-26``); empty means not set."""
    if not text or not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{label} {text.strip()!r} is not a date: write it like 2026-11-26") from None


def funnel_window(start: str | None, end: str | None, cohort: str | None) -> Window:
    """The report's window from the form: both days included (the report's end is excluded, so one day more)."""
    first, last = day_of(start, "From"), day_of(end, "To")
    if first is not None and last is not None and first > last:
        raise UserError(f"the From date {first} is after the To date {last}: the window would be empty")
    period = cohort or "week"
    if period not in ("week", "month"):
        raise UserError(f"cohorts are by week or by month, not {period!r}")
    return Window(
        dt.datetime.combine(first, dt.time()) if first else None,
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time()) if last else None,
        "week" if period == "week" else "month",
    )


def chart_fragments(report: FunnelReport) -> list[str]:
    """Each chart of the report as an HTML fragment drawn by the page's plotly script (none: no data)."""
    if report.leads == 0:
        return []
    figures = [chart(report) for chart in CHARTS]
    return [
        figure.to_html(full_html=False, include_plotlyjs=False, config=CHART_CONFIG, default_width="100%")
        for figure in figures
        if figure is not None
    ]


@router.get("/funnel", response_class=HTMLResponse)
def funnel_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(marketer)],
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    by: Annotated[str | None, Query(max_length=40)] = None,
    cohort: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The funnel dashboard: the report of ``leadgate report`` for the chosen window."""
    window = funnel_window(start, to, cohort)
    split = by or None
    if split is not None and split not in DIMENSIONS:
        raise UserError(f"the funnel can be split by {', '.join(DIMENSIONS)}, not {split!r}")
    runtime = runtime_of(request)
    with runtime.side_store() as store:  # seconds on a large store: decisions and cycles go on meanwhile
        report = build_report(from_store(store), window, split)
    return render(
        request,
        "marketing_funnel.html",
        viewer,
        report=report,
        charts=chart_fragments(report),
        dimensions=DIMENSIONS,
        chosen={"from": start or "", "to": to or "", "by": split or "", "cohort": window.period},
        last_day=window.end.date() - dt.timedelta(days=1) if window.end else None,
        **volume_table(report),
    )


def volume_table(report: FunnelReport) -> dict[str, Any]:
    """The report's figures keyed for the page's tables: velocity by step, leads entering each stage by period."""
    present = {point.stage for point in report.volume}
    return {
        "durations": {(row.step_from, row.step_to): row for row in report.velocity},
        "periods": sorted({point.period for point in report.volume}),
        "volume": {(point.period, point.stage): point.leads for point in report.volume},
        "volume_stages": [stage for stage in STAGES if stage in present],
    }


@router.get("/rules", response_class=HTMLResponse)
def rules_page(
    request: Request,
    viewer: Annotated[Viewer, Depends(marketer)],
    version: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """Rule performance, rejection reasons and suggested points (``leadgate tune``), for one version or all."""
    from leadgate.analytics.feedback import tune  # scikit-learn loads on demand, as in the CLI

    chosen = _version_of(version)
    runtime = runtime_of(request)
    playbook = runtime.playbook()
    now = runtime.now()
    with runtime.side_store() as store:
        versions = sorted(
            {row.version for row in PlaybookVersions(store, runtime.workspace.playbook_path).listing(now)}
        )
        report = tune(store, playbook, now, chosen)
    return render(
        request, "marketing_rules.html", viewer, report=report, versions=versions, chosen=chosen, playbook=playbook
    )


def _version_of(text: str | None) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_VERSION:
        raise UserError(f"the playbook version {text!r} is not a version number")
    return int(text)
