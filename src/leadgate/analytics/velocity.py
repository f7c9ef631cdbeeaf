"""How long leads take: between stages, and from assignment to the first sales action.

Durations are summarised by their median and 90th percentile, both *nearest-rank*
percentiles (the value at rank ceil(p * n) of the n sorted durations): always one of the
observed durations, and the same on every engine (DuckDB interpolates, Spark approximates;
this is computed with a window instead).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from leadgate.analytics.cohorts import Window
from leadgate.analytics.journeys import IMPORT_ACTOR, STEPS, step_column
from leadgate.analytics.tables import FunnelTables

SECONDS_PER_DAY = 86400.0
SECONDS_PER_HOUR = 3600.0
FIRST_ACTIONS = ("accept", "reject", "qualify", "disqualify", "opportunity", "won", "lost")


def seconds_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.IntegerValue:
    return end.epoch_seconds() - start.epoch_seconds()


def percentiles(durations: ir.Table, keys: list[str], value: str = "duration") -> ir.Table:
    """Per group of ``keys``: ``count``, ``median``, ``p90`` and ``mean`` of ``value`` (nearest rank)."""
    group = [durations[key] for key in keys]
    ranked = durations.mutate(
        rank=ibis.row_number().over(group_by=group, order_by=durations[value]) + 1,
        size=durations[value].count().over(group_by=group),
    )
    at_50 = (ranked["size"] * 50 + 99) // 100  # ceil(n * p) in integers: no float rounding
    at_90 = (ranked["size"] * 90 + 99) // 100
    return ranked.group_by(keys).aggregate(
        count=ranked.count(),
        median=ranked[value].max(where=ranked["rank"] == at_50),
        p90=ranked[value].max(where=ranked["rank"] == at_90),
        mean=ranked[value].mean(),
    )


def stage_durations(journeys: ir.Table, window: Window, by: str | None = None) -> ir.Table:
    """Per step: days from first entering its first stage (in the window) to reaching the next."""
    parts = []
    for source, target in STEPS:
        reached = journeys[step_column(source, target)]
        rows = journeys.filter(window.holds(journeys[source]) & reached.notnull())
        parts.append(
            rows.select(
                step_from=ibis.literal(source),
                step_to=ibis.literal(target),
                value=rows[by].cast("string") if by else ibis.null("string"),
                duration=seconds_between(rows[source], rows[step_column(source, target)]) / SECONDS_PER_DAY,
            )
        )
    return percentiles(ibis.union(*parts), ["step_from", "step_to", "value"])


def first_action_delays(tables: FunnelTables, window: Window) -> ir.Table:
    """One row per assignment to a rep in the window that got a sales action: the hours from
    the assignment to the lead's first decision at or after it (imported outcomes excluded)."""
    a = tables.assignments.filter(window.holds(tables.assignments.at))
    d = tables.decisions
    d = d.filter(d.kind.isin(list(FIRST_ACTIONS)) & (d.actor != IMPORT_ACTOR)).select("lead_key", decided_at=d.at)
    joined = a.join(d, [a.lead_key == d.lead_key, d.decided_at >= a.at])
    first = joined.group_by(joined.fact_id, joined.owner, joined.team, joined.at).aggregate(
        decided_at=joined.decided_at.min()
    )
    return first.select("owner", "team", duration=seconds_between(first.at, first.decided_at) / SECONDS_PER_HOUR)


def first_action_summary(tables: FunnelTables, window: Window, by: str | None = None) -> ir.Table:
    """Median and p90 hours from assignment to first sales action, overall or per owner or team."""
    delays = first_action_delays(tables, window)
    value = delays[by].cast("string").fill_null("(none)") if by in ("owner", "team") else ibis.null("string")
    return percentiles(delays.mutate(value=value), ["value"])


def duration_histogram(
    journeys: ir.Table, window: Window, steps: tuple[tuple[str, str], ...], cap_days: int = 60
) -> ir.Table:
    """Per step and whole day (durations of ``cap_days`` or more in the last bin): how many leads."""
    parts = []
    for source, target in steps:
        reached = journeys[step_column(source, target)]
        rows = journeys.filter(window.holds(journeys[source]) & reached.notnull())
        days = (seconds_between(rows[source], rows[step_column(source, target)]) // 86400).cast("int64")
        parts.append(
            rows.select(step_from=ibis.literal(source), step_to=ibis.literal(target), day=ibis.least(days, cap_days))
        )
    durations = ibis.union(*parts)
    return durations.group_by("step_from", "step_to", "day").aggregate(leads=durations.count())
