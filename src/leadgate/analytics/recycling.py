"""Recycled leads that come back: of the leads first recycled in the window, how many
qualified again, were accepted, became SQL and were won afterwards."""

from __future__ import annotations

import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import RECYCLE_STEPS, step_column


def recycled_comebacks(journeys: ir.Table, window: Window) -> ir.Table:
    """One row: ``recycled`` and, for each later stage, how many of them reached it."""
    rows = journeys.filter(window.holds(journeys.recycled))
    reached = {
        target: rows.count(where=rows[step_column(source, target)].notnull()) for source, target in RECYCLE_STEPS
    }
    return rows.aggregate(recycled=rows.count(), **reached)
