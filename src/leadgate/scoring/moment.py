"""The moment a scoring is computed for: a fixed time, or a parameter read at run time.

A *fixed* moment writes its time into the SQL as literals, and bounds what the expression
must cover (the local-time offsets of a window ending then). A *parameter* moment reads the
time from the one-row table ``scoring_moment`` when the query runs, so the SQL compiled for
one moment serves the next: the service's worker rescores a few leads every second, and
compiling a scoring costs several times what running it does. A parameter may be given the
span its moments fall in (:func:`year_span`), which bounds the expression as a fixed moment
does; the SQL then serves only moments of that span.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pyarrow as pa

MOMENT_TABLE = "scoring_moment"


@dataclass(frozen=True)
class Moment:
    """``at`` (naive UTC timestamp) and ``epoch`` (whole seconds since 1970) as expressions or
    numbers; ``span`` is the earliest and latest epoch the moment can be when known in
    advance (a fixed moment's: its own, twice), None when it can be any.

    ``stamp`` is ``at`` for an output column. Ibis 12 renders a scalar subquery that is both
    an output column and used elsewhere with the column's alias in both places (invalid SQL),
    so a parameter's stamp is another expression of the same value.
    """

    at: ir.TimestampValue
    epoch: int | ir.IntegerValue
    span: tuple[int, int] | None
    stamp: ir.TimestampValue


def epoch_seconds(moment: dt.datetime) -> int:
    """Seconds since 1970 of a naive-UTC or aware datetime."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return int(aware.timestamp())


def fixed_moment(as_of: dt.datetime | Moment) -> Moment:
    """The moment of ``as_of`` (a moment is returned as it is)."""
    if isinstance(as_of, Moment):
        return as_of
    epoch = epoch_seconds(as_of)
    at = ibis.literal(as_of)
    return Moment(at, epoch, (epoch, epoch), at)  # type: ignore[arg-type]


def moment_parameter(table: ir.Table, span: tuple[int, int] | None = None) -> Moment:
    """The moment stored in ``table`` (see :func:`moment_row`), read when the query runs;
    ``span``: the earliest and latest epoch it will be (the SQL is then only right for those)."""
    return Moment(
        table.as_of.as_scalar(),  # type: ignore[arg-type]
        table.as_of_epoch.as_scalar(),  # type: ignore[arg-type]
        span,
        table.as_of.max().as_scalar(),  # type: ignore[arg-type]
    )


def year_span(as_of: dt.datetime) -> tuple[int, int]:
    """The epochs of ``as_of``'s UTC calendar year, from its first second to the next year's.

    A parameter moment bounded by it keeps only that year's local-time offsets in its SQL
    where a window ends at the moment (instead of 70 years' worth, more than a quarter of an
    incremental scoring's SQL for a zone with daylight saving time); SQL compiled for one year
    is compiled again for the next (see where it is kept: the year is part of its key).
    """
    year = (as_of if as_of.tzinfo is None else as_of.astimezone(dt.UTC)).year
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    return epoch_seconds(start), epoch_seconds(start.replace(year=year + 1))


def moment_row(as_of: dt.datetime) -> pa.Table:
    """The one row of the ``scoring_moment`` table for ``as_of``."""
    return pa.table(
        {
            "as_of": pa.array([as_of], pa.timestamp("us")),
            "as_of_epoch": pa.array([epoch_seconds(as_of)], pa.int64()),
        }
    )
