"""Does a higher score mean a better lead? Conversion by score band.

Rule score: each lead's score on its first qualification (``transitions.score`` of its first
move to MQL or PQL), in bands of ``band_width`` points (a band [40, 60) is labelled 40);
the leads that qualified in the window, how many reached SQL and how many were won afterwards.

Predictive probability (when a ``lead_predictions`` table exists): the lead's latest
``p_convert`` in tenths (0.0, 0.1, ... 0.9), its mean, and the share of those leads that were won.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import step_column
from leadgate.analytics.tables import FunnelTables

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


def probability_bands(tables: FunnelTables, journeys: ir.Table, window: Window) -> ir.Table | None:
    """Per predicted-probability tenth: ``leads``, ``mean_probability``, ``won``; None without predictions."""
    predictions = tables.predictions
    if predictions is None:
        return None
    latest = predictions.group_by("lead_key").aggregate(
        probability=predictions.probability.argmax(predictions.predicted_at)
    )
    rows = journeys.filter(window.holds(journeys.inquiry))
    joined = rows.join(latest, "lead_key")
    tenth = ibis.least((joined.probability * 10).floor(), 9).cast("float64") / 10
    return joined.group_by(band=tenth).aggregate(
        leads=joined.count(),
        mean_probability=joined.probability.mean(),
        won=joined.count(where=joined.won.notnull()),
    )
