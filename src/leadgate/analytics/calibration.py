"""Does a higher score mean a better lead? Conversion by score band.

Rule score: each lead's score on its first qualification (``transitions.score`` of its first
move to MQL or PQL), in bands of ``band_width`` points (a band [40, 60) is labelled 40);
the leads that qualified in the window, how many reached SQL and how many were won afterwards.

The predictive probability is judged where it can be without leakage: on the validation
episodes of the latest model, which qualified after the episodes it learnt from (each bin:
mean predicted, observed rate). A lead's current ``p_convert`` against outcomes already known
would grade predictions made after the fact.
"""

from __future__ import annotations

import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import step_column

DEFAULT_BAND_WIDTH = 20.0


def score_bands(journeys: ir.Table, window: Window, band_width: float = DEFAULT_BAND_WIDTH) -> ir.Table:
    """Per rule-score band: ``leads``, ``sql`` and ``won`` (reached after qualifying)."""
    rows = journeys.filter(window.holds(journeys.qualified) & journeys.qualified_score.notnull())
    band = (rows.qualified_score / band_width).floor().cast("float64") * band_width
    return rows.group_by(band=band).aggregate(
        leads=rows.count(),
        sql=rows.count(where=rows[step_column("qualified", "sql")].notnull()),
        won=rows.count(where=rows[step_column("qualified", "won")].notnull()),
    )
