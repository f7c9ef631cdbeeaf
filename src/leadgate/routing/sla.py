"""SLA deadlines from the playbook: business time in its zone, hours and holidays."""

from __future__ import annotations

import datetime as dt

from leadgate.playbook.fields import Duration
from leadgate.playbook.model import PlaybookModel
from leadgate.routing.business_time import BusinessCalendar, add_business_minutes


def calendar_of(playbook: PlaybookModel) -> BusinessCalendar:
    """The playbook's working calendar."""
    start, end = playbook.business_hours.bounds()
    return BusinessCalendar(
        timezone=playbook.timezone,
        days=frozenset(playbook.business_hours.days),
        start=start,
        end=end,
        holidays=frozenset(playbook.holidays),
    )


def local_day(playbook: PlaybookModel, instant: dt.datetime) -> dt.date:
    """The day an instant (naive UTC) falls on in the playbook's time zone (absences are local days)."""
    return instant.replace(tzinfo=dt.UTC).astimezone(calendar_of(playbook).zone).date()


def deadline(playbook: PlaybookModel, assigned_at: dt.datetime) -> dt.datetime | None:
    """When the SAL decision is due for a lead assigned at ``assigned_at`` (None without an SLA)."""
    sla: Duration | None = playbook.stages.sal.sla
    if sla is None or not playbook.stages.sal.enabled:
        return None
    if sla.business:
        calendar = calendar_of(playbook)
        if sla.unit == "day":  # a business day is a working day's hours, not 24 of them
            return add_business_minutes(calendar, assigned_at, sla.amount * calendar.minutes_per_day)
        return add_business_minutes(calendar, assigned_at, sla.minutes)
    return assigned_at + dt.timedelta(minutes=sla.minutes)
