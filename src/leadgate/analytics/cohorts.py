"""The report's window and cohorts: which leads a figure counts, and how they are grouped in time.

A figure about a step ``a -> b`` counts the leads that first entered ``a`` within the window
(``start`` included, ``end`` excluded; either may be open), grouped by the week (starting on
Monday) or the month in which they entered ``a``: their *cohort*. A lead of a cohort counts as
converted if it ever reached ``b`` afterwards, even after the window ends, so the latest
cohorts look worse than they will: they have had less time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis.expr.types as ir

Period = Literal["week", "month"]
PERIOD_UNITS: dict[str, str] = {"week": "W", "month": "M"}


@dataclass(frozen=True)
class Window:
    """The report's time window (naive UTC) and its cohort period."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    period: Period = "week"

    def holds(self, moment: ir.TimestampValue) -> ir.BooleanValue:
        """The moment is set and inside the window."""
        condition = moment.notnull()
        if self.start is not None:
            condition &= moment >= self.start
        if self.end is not None:
            condition &= moment < self.end
        return condition

    def cohort(self, moment: ir.TimestampValue) -> ir.TimestampValue:
        """The start of the week or month of the moment."""
        return moment.truncate(PERIOD_UNITS[self.period])  # type: ignore[arg-type]
