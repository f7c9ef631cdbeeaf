"""Why sales turned leads down: rejection (or disqualification) reasons as a Pareto."""

from __future__ import annotations

import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.tables import FunnelTables


def reason_counts(tables: FunnelTables, window: Window, kind: str = "reject") -> ir.Table:
    """How many decisions of ``kind`` (``reject`` or ``disqualify``) in the window gave each reason."""
    d = tables.decisions
    chosen = d.filter((d.kind == kind) & window.holds(d.at))
    return chosen.group_by(reason=chosen.reason.fill_null("(none)")).aggregate(count=chosen.count())


def pareto(counts: list[tuple[str, int]]) -> list[tuple[str, int, float, float]]:
    """``(reason, count, share, cumulative share)``, most frequent first (ties by reason)."""
    ordered = sorted(counts, key=lambda item: (-item[1], item[0]))
    total = sum(count for _, count in ordered)
    rows = []
    running = 0
    for reason, count in ordered:
        running += count
        rows.append((reason, count, count / total, running / total))
    return rows
