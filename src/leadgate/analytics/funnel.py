"""Stage-to-stage conversion by cohort, the funnel of an inquiry cohort, and volume trends.

Every figure counts leads, never snapshots: of the leads that first entered a stage in the
window, how many reached the next one afterwards (see :mod:`leadgate.analytics.cohorts`).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import FUNNEL_STAGES, STAGES, STEPS, step_column


def conversion(
    journeys: ir.Table,
    window: Window,
    by: str | None = None,
    by_cohort: bool = False,
    steps: tuple[tuple[str, str], ...] = STEPS,
) -> ir.Table:
    """Per step (and cohort, and dimension value): ``entered`` (leads that first entered the
    step's first stage in the window) and ``converted`` (those that reached its second stage)."""
    parts = [_one_step(journeys, window, source, target, by, by_cohort) for source, target in steps]
    return ibis.union(*parts)


def _one_step(
    journeys: ir.Table, window: Window, source: str, target: str, by: str | None, by_cohort: bool
) -> ir.Table:
    rows = journeys.filter(window.holds(journeys[source]))
    reached = rows[step_column(source, target)].notnull()
    keys: dict[str, ir.Value] = {"step_from": ibis.literal(source), "step_to": ibis.literal(target)}
    keys["cohort"] = window.cohort(rows[source]) if by_cohort else ibis.null("timestamp")
    keys["value"] = rows[by].cast("string") if by else ibis.null("string")
    return rows.group_by(**keys).aggregate(entered=rows.count(), converted=rows.count(where=reached))


def funnel_counts(journeys: ir.Table, window: Window, by: str | None = None) -> ir.Table:
    """The inquiry cohort's funnel: of the leads first known in the window, how many ever
    reached each stage (``qualified``: MQL or PQL)."""
    rows = journeys.filter(window.holds(journeys.inquiry))
    counts = {stage: rows.count(where=rows[stage].notnull()) for stage in FUNNEL_STAGES}
    if by is None:
        return rows.aggregate(**counts)
    return rows.group_by(value=rows[by].cast("string")).aggregate(**counts)


def volume(journeys: ir.Table, window: Window) -> ir.Table:
    """Per period and stage: how many leads first entered the stage in that period."""
    parts = [
        journeys.filter(window.holds(journeys[stage])).select(
            period=window.cohort(journeys[stage]), stage=ibis.literal(stage)
        )
        for stage in STAGES
    ]
    entries = ibis.union(*parts)
    return entries.group_by("period", "stage").aggregate(leads=entries.count())
