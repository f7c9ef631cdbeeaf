"""SLA compliance: did the rep accept or reject an assigned lead before its deadline?

Each assignment with a deadline (``assignments.due_at``) made in the window is:

- ``on_time``: its lead's first accept, reject or disqualify decision at or after the
  assignment came at or before the deadline;
- ``breached``: an SLA breach was recorded for that lead and deadline, or the first decision
  came after the deadline;
- ``open``: neither (still waiting, or the lead left the queue otherwise).

Compliance is on_time / (on_time + breached): open assignments are not judged yet.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.tables import FunnelTables

ANSWERS = ("accept", "reject", "disqualify")


def sla_outcomes(tables: FunnelTables, window: Window) -> ir.Table:
    """One row per assignment with a deadline in the window: owner, team, cohort, status."""
    a = tables.assignments
    a = a.filter(a.due_at.notnull() & window.holds(a.at)).select("fact_id", "lead_key", "owner", "team", "at", "due_at")
    d = tables.decisions
    d = d.filter(d.kind.isin(list(ANSWERS))).select(d.lead_key.name("d_lead"), decided_at=d.at)
    answered = a.left_join(d, [a.lead_key == d.d_lead, d.decided_at >= a.at])
    first = answered.group_by("fact_id", "lead_key", "owner", "team", "at", "due_at").aggregate(
        decided_at=answered.decided_at.min()
    )
    b = tables.sla_breaches.select(b_lead="lead_key", b_due="due_at").distinct()
    marked = first.left_join(b, [first.lead_key == b.b_lead, first.due_at == b.b_due])
    status = ibis.cases(
        (marked.b_lead.notnull() | (marked.decided_at > marked.due_at), "breached"),
        (marked.decided_at.notnull(), "on_time"),
        else_="open",
    )
    return marked.select("owner", "team", cohort=window.cohort(marked.at), status=status)


def sla_summary(tables: FunnelTables, window: Window, by: str | None = None, by_cohort: bool = False) -> ir.Table:
    """Counts of on_time, breached and open assignments, overall or per cohort and owner/team."""
    rows = sla_outcomes(tables, window)
    keys: dict[str, ir.Value] = {
        "cohort": rows.cohort if by_cohort else ibis.null("timestamp"),
        "value": rows[by].fill_null("(none)") if by in ("owner", "team") else ibis.null("string"),
    }
    return rows.group_by(**keys).aggregate(
        on_time=rows.count(where=rows.status == "on_time"),
        breached=rows.count(where=rows.status == "breached"),
        open=rows.count(where=rows.status == "open"),
    )
