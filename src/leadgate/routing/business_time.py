"""Business time: SLA deadlines counted in the playbook's working hours, zone and holidays.

"Accept within 4 business hours" assigned on Friday at 17:00 in Paris, with hours 09:00–18:00
Monday to Friday, is due on Monday at 12:00 Paris time. Everything here is pure: instants are
naive UTC datetimes in and out; the zone only decides where the working hours fall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_DAYS = 3660  # ten years of calendar: a calendar with no working day is an error, not a hang


@dataclass(frozen=True)
class BusinessCalendar:
    """When people work: weekdays, daily hours (local), holidays, in one time zone."""

    timezone: str
    days: frozenset[str]
    start: dt.time
    end: dt.time
    holidays: frozenset[dt.date] = frozenset()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def minutes_per_day(self) -> int:
        """Working minutes in one working day."""
        opens = dt.datetime.combine(dt.date(2000, 1, 3), self.start)
        return int((dt.datetime.combine(opens.date(), self.end) - opens).total_seconds() // 60)

    def is_working_day(self, day: dt.date) -> bool:
        return WEEKDAY_NAMES[day.weekday()] in self.days and day not in self.holidays

    def working_spans(self, from_utc: dt.datetime) -> Iterator[tuple[dt.datetime, dt.datetime]]:
        """The working periods (naive UTC start, end) from ``from_utc`` on, in order.

        The first span is cut at ``from_utc`` when it starts inside working hours.
        """
        zone = self.zone
        local_day = _to_local(from_utc, zone).date()
        for offset in range(_MAX_DAYS):
            day = local_day + dt.timedelta(days=offset)
            if not self.is_working_day(day):
                continue
            opens = _to_utc(dt.datetime.combine(day, self.start), zone)
            closes = _to_utc(dt.datetime.combine(day, self.end), zone)
            if closes <= from_utc:
                continue
            yield max(opens, from_utc), closes
        raise ValueError("the business calendar has no working day in ten years")


def add_business_minutes(calendar: BusinessCalendar, start: dt.datetime, minutes: int) -> dt.datetime:
    """The instant ``minutes`` of working time after ``start`` (naive UTC)."""
    remaining = dt.timedelta(minutes=minutes)
    if remaining <= dt.timedelta(0):
        return start
    for opens, closes in calendar.working_spans(start):
        span = closes - opens
        if remaining <= span:
            return opens + remaining
        remaining -= span
    raise AssertionError("unreachable: working_spans never ends without raising")


def business_minutes_between(calendar: BusinessCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working minutes from ``start`` to ``end`` (negative when ``end`` is before ``start``)."""
    if end < start:
        return -business_minutes_between(calendar, end, start)
    total = dt.timedelta(0)
    for opens, closes in calendar.working_spans(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total.total_seconds() / 60


def _to_local(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A local wall-clock time as naive UTC (the earlier reading when the clock goes back)."""
    return local.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
