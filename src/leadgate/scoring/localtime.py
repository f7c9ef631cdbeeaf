"""Local calendar days in the playbook's time zone, as portable Ibis arithmetic.

Engines disagree on time-zone functions (and some have none), so the zone's UTC offsets are
read from Python's zoneinfo and written into the expression: a binary tree of comparisons
over the zone's transitions (DST changes), which every engine evaluates the same way.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir

SECONDS_PER_DAY = 86_400
_FIRST_YEAR, _LAST_YEAR = 1990, 2060


@lru_cache(maxsize=32)
def offset_periods(timezone: str) -> tuple[tuple[int, int], ...]:
    """``(start_epoch, utc_offset_seconds)`` pairs, sorted, covering 1990-2060."""
    zone = ZoneInfo(timezone)
    start = int(dt.datetime(_FIRST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(_LAST_YEAR, 1, 1, tzinfo=dt.UTC).timestamp())
    periods: list[tuple[int, int]] = [(start, utc_offset(zone, start))]
    # Offsets change at most a few times a year; probing every 12 hours finds each change,
    # then a binary search pins it to the second.
    step = 12 * 3600
    moment = start
    while moment < end:
        following = moment + step
        if utc_offset(zone, following) != periods[-1][1]:
            low, high = moment, following
            while high - low > 1:
                middle = (low + high) // 2
                if utc_offset(zone, middle) == periods[-1][1]:
                    low = middle
                else:
                    high = middle
            periods.append((high, utc_offset(zone, high)))
        moment = following
    return tuple(periods)


def utc_offset(zone: ZoneInfo, epoch: int) -> int:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC).astimezone(zone)
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset else 0


def local_day(
    epoch: ir.NumericValue, timezone: str, since: int | None = None, until: int | None = None
) -> ir.IntegerValue:
    """The local calendar day (days since 1970-01-01 in the zone) of a UTC epoch second.

    ``since``/``until`` bound the epochs the expression will meet (e.g. a window ending at
    the as-of time): only the offset periods that overlap them go into the comparison tree,
    which keeps the expression, and its compilation, small.
    """
    periods = _overlapping(offset_periods(timezone), since, until)
    offset = _offset_tree(epoch, periods)
    return ((epoch + offset) / SECONDS_PER_DAY).floor()  # type: ignore[return-value]


def _overlapping(
    periods: tuple[tuple[int, int], ...], since: int | None, until: int | None
) -> tuple[tuple[int, int], ...]:
    first = 0
    if since is not None:
        first = max((index for index, (start, _) in enumerate(periods) if start <= since), default=0)
    last = len(periods)
    if until is not None:
        last = max(first + 1, sum(1 for start, _ in periods if start <= until))
    return periods[first:last]


def _offset_tree(epoch: ir.NumericValue, periods: tuple[tuple[int, int], ...]) -> ir.NumericValue:
    if len(periods) == 1:
        return ibis.literal(periods[0][1])  # type: ignore[return-value]
    middle = len(periods) // 2
    split = periods[middle][0]
    return ibis.ifelse(  # type: ignore[return-value]
        epoch < split, _offset_tree(epoch, periods[:middle]), _offset_tree(epoch, periods[middle:])
    )
