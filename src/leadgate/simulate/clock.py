"""Simulated time: the window, local time in each time zone, and the rhythm of a working week.

A moment is an int64 count of seconds since the Unix epoch, UTC. People act in their own
time zone: mostly in office hours, less at lunch, little at night, and much less at the
weekend. Offsets come from zoneinfo for each day of the window, so summer time is right.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from leadgate.simulate.arrays import Bools, Floats, Ints, choose

DAY = 86_400
HOUR = 3_600
MINUTE = 60
NEVER = np.iinfo(np.int64).max
"""A moment that does not come (compares later than every real one)."""

EPOCH = dt.datetime(1970, 1, 1)

# How busy each local hour is, midnight first: office hours with a lunch dip, quiet nights.
HOURLY_ACTIVITY = np.array(
    [
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        1.5,
        4.0,
        7.0,
        8.0,
        8.0,
        5.5,
        6.0,
        8.0,
        8.0,
        7.0,
        5.0,
        3.0,
        2.0,
        2.0,
        1.6,
        1.0,
        0.6,
    ]
)
# How likely a planned action happens on each local weekday, Monday first.
WEEKDAY_ACTIVITY = np.array([1.0, 1.0, 1.0, 0.95, 0.85, 0.25, 0.2])
MEAN_WEEKDAY_ACTIVITY = float(WEEKDAY_ACTIVITY.mean())
_RETRIES = 6


@dataclass(frozen=True)
class Window:
    """The simulated period ``[start, end)``, in epoch seconds."""

    start: int
    end: int

    @classmethod
    def ending(cls, end: dt.datetime, days: int) -> Window:
        """The ``days`` days before ``end`` (an aware time, or a naive one in UTC)."""
        if end.tzinfo is not None:
            end = end.astimezone(dt.UTC).replace(tzinfo=None)
        end_seconds = int((end.replace(microsecond=0) - EPOCH).total_seconds())
        return cls(end_seconds - days * DAY, end_seconds)

    def moment(self, seconds: int) -> dt.datetime:
        """A moment as a naive UTC datetime."""
        return EPOCH + dt.timedelta(seconds=int(seconds))


def weekday(local_day: Ints) -> Ints:
    """Monday = 0 for a count of local days since 1970-01-01 (a Thursday)."""
    return (local_day + 3) % 7


def time_of_day(rng: np.random.Generator, size: int) -> Ints:
    """Seconds after local midnight, following :data:`HOURLY_ACTIVITY`."""
    return choose(rng, HOURLY_ACTIVITY, size) * HOUR + rng.integers(0, HOUR, size)


class Clock:
    """Local time in a fixed list of time zones, over one window."""

    def __init__(self, window: Window, zones: Sequence[str]) -> None:
        self.window = window
        self._first_day = window.start // DAY - 2
        day_count = window.end // DAY + 3 - self._first_day
        self._offsets = np.array(
            [
                [_utc_offset(zone, (self._first_day + day) * DAY + 12 * HOUR) for day in range(day_count)]
                for zone in zones
            ],
            dtype=np.int64,
        )

    def local_day(self, zone: Ints, moment: Ints) -> Ints:
        """The local calendar day (days since 1970-01-01) of each moment."""
        utc_day = np.clip(moment // DAY - self._first_day, 0, self._offsets.shape[1] - 1)
        return (moment + self._offsets[zone, utc_day]) // DAY

    def to_utc(self, zone: Ints, local_day: Ints, second_of_day: Ints) -> Ints:
        """The moment of a local day and time in each zone."""
        day = np.clip(local_day - self._first_day, 0, self._offsets.shape[1] - 1)
        return local_day * DAY + second_of_day - self._offsets[zone, day]

    def scatter(self, rng: np.random.Generator, low: Ints, high: Ints, zone: Ints) -> tuple[Ints, Bools]:
        """One moment per entry in ``[low, high)``: a uniform day, a working-hours time.

        The second array says which moments happen: a moment is kept with its weekday's
        activity and only inside its bounds, so callers draw ``1 / MEAN_WEEKDAY_ACTIVITY``
        times as many as they mean to keep.
        """
        size = len(low)
        uniform = low + (rng.random(size) * np.maximum(high - low, 0)).astype(np.int64)
        local_day = self.local_day(zone, uniform)
        moment = self.to_utc(zone, local_day, time_of_day(rng, size))
        happens = rng.random(size) < WEEKDAY_ACTIVITY[weekday(local_day)]
        return moment, happens & (moment >= low) & (moment < high)

    def pick(self, rng: np.random.Generator, low: Ints, high: Ints, zone: Ints) -> Ints:
        """One moment per entry that surely happens in ``[low, high)`` (``low`` if empty)."""
        moment = np.empty(len(low), dtype=np.int64)
        waiting = np.arange(len(low))
        for _ in range(_RETRIES):
            drawn, happens = self.scatter(rng, low[waiting], high[waiting], zone[waiting])
            moment[waiting[happens]] = drawn[happens]
            waiting = waiting[~happens]
        span = np.maximum(high[waiting] - low[waiting], 0)
        moment[waiting] = low[waiting] + (rng.random(len(waiting)) * span).astype(np.int64)
        return moment

    def occurrences(
        self, rng: np.random.Generator, low: Ints, high: Ints, zone: Ints, rate_per_day: Floats
    ) -> tuple[Ints, Ints]:
        """A Poisson process per entry in ``[low, high)``: (entry of each moment, moment).

        ``rate_per_day`` is the mean over a week; weekdays get more, weekends fewer.
        """
        days = np.maximum(high - low, 0) / DAY
        counts = rng.poisson(rate_per_day * days / MEAN_WEEKDAY_ACTIVITY)
        entry = np.repeat(np.arange(len(low)), counts)
        moment, happens = self.scatter(rng, low[entry], high[entry], zone[entry])
        return entry[happens], moment[happens]

    def weekly(self, day_of_week: int, second_of_day: int) -> Ints:
        """For each zone, the moments of a local weekday and time in the window (NEVER-padded)."""
        local_days = np.arange(self._first_day, self._first_day + self._offsets.shape[1], dtype=np.int64)
        local_days = local_days[weekday(local_days) == day_of_week]
        rows = []
        for zone in range(self._offsets.shape[0]):
            moments = self.to_utc(np.full(len(local_days), zone), local_days, np.full(len(local_days), second_of_day))
            rows.append(moments[(moments >= self.window.start) & (moments < self.window.end)])
        width = max(len(row) for row in rows)
        return np.array([np.pad(row, (0, width - len(row)), constant_values=NEVER) for row in rows], dtype=np.int64)


def _utc_offset(zone: str, moment: int) -> int:
    offset = (EPOCH + dt.timedelta(seconds=moment)).replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0
