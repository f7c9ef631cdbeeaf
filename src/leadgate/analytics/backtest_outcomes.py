"""The truth a backtest judges passes against: which leads converted, and when, in the recorded facts.

A lead *converted* when it first reached SQL (or went further: opportunity, won) in the
``transitions`` facts, or when a ``won`` decision was recorded for it, whichever came first.
Only conversions inside the window count (after ``start``, at or before ``end``): an outcome
recorded after ``end`` was not known then, and one before ``start`` belongs to an earlier
window.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pyarrow as pa

from leadgate.errors import UserError
from leadgate.store.base import Store

CONVERTED_STAGES = ("sql", "opportunity", "won")


def conversions(store: Store, start: dt.datetime, end: dt.datetime) -> pa.Table:
    """``lead_key`` and ``converted_at`` (the first conversion) of the leads that converted in the window."""
    transitions = store.backend.table("transitions")
    decisions = store.backend.table("decisions")
    moved = transitions.filter(transitions.target.isin(CONVERTED_STAGES)).select("lead_key", at=transitions.at)
    won = decisions.filter(decisions.kind == "won").select("lead_key", at=decisions.at)
    both = moved.union(won)
    first = both.group_by("lead_key").aggregate(converted_at=both.at.min())
    inside = first.filter((first.converted_at > ibis.literal(start)) & (first.converted_at <= ibis.literal(end)))
    return inside.to_pyarrow()


def history_span(store: Store) -> tuple[dt.datetime, dt.datetime]:
    """The first and last event times of the store: the default backtest window."""
    events = store.backend.table("events")
    row = events.aggregate(first=events.ts.min(), last=events.ts.max()).to_pyarrow().to_pylist()[0]
    if row["first"] is None:
        raise UserError("the workspace has no events yet: there is no history to backtest on")
    return _naive(row["first"]), _naive(row["last"])


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None)
