"""When each lead arrives, when it tells us who it is, and how long it stays interested.

Leads arrive evenly over the window. Half of those who find us on the web browse anonymously
for a few days before a form identifies them; leads met in person (events, partners) are
known from their first day. Interest fades after a while, later for leads with a higher
propensity; a lead in a sales cycle stays active through it, and a customer stays for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Floats, Ints
from leadgate.simulate.clock import DAY, HOUR, MINUTE, NEVER, Clock
from leadgate.simulate.outcomes import Outcomes
from leadgate.simulate.world import World

ANONYMOUS_FIRST_SHARE = 0.5
MEAN_DAYS_BEFORE_FORM = 5
ENGAGEMENT_SPREAD = 0.6
MEAN_INTEREST_DAYS = 20
EXTRA_INTEREST_DAYS = 80  # at propensity 1
DAYS_ACTIVE_AFTER_SQL = 21


@dataclass(frozen=True)
class Arrivals:
    """When each lead first came and when it told us who it is."""

    first_seen: Ints  # the first visit (or the day we met)
    identified_at: Ints  # the form (or the meeting) that gave us their name
    zone: Ints  # into catalogue.ZONES


@dataclass(frozen=True)
class Activity:
    """How active each lead is, and for how long."""

    engagement: Floats  # how active the lead is, whatever its propensity (mean 1)
    active_until: Ints  # when its interest fades (NEVER for customers)


def plan_arrivals(rng: np.random.Generator, clock: Clock, world: World) -> Arrivals:
    """First visits spread over the window, and the moments leads identify themselves."""
    leads, window = world.leads, clock.window
    zone = world.accounts.zone[leads.account]
    count = len(leads)
    first_seen = clock.pick(rng, np.full(count, window.start), np.full(count, window.end - DAY), zone)
    web = np.array([entry.web for entry in cat.LEAD_SOURCES])[leads.source]
    browses_first = web & (rng.random(count) < ANONYMOUS_FIRST_SHARE)
    later = first_seen + 10 * MINUTE + (rng.exponential(MEAN_DAYS_BEFORE_FORM, count) * DAY).astype(np.int64)
    low = np.minimum(later, window.end - HOUR)
    form = clock.pick(rng, low, np.minimum(low + DAY, window.end), zone)
    return Arrivals(first_seen, np.where(browses_first, form, first_seen), zone)


def plan_activity(rng: np.random.Generator, propensity: Floats, arrivals: Arrivals, outcomes: Outcomes) -> Activity:
    """How engaged each lead is and when its interest fades."""
    count = len(propensity)
    interest_days = rng.exponential(MEAN_INTEREST_DAYS + EXTRA_INTEREST_DAYS * propensity, count)
    active_until = arrivals.identified_at + (interest_days * DAY).astype(np.int64)
    in_sales_cycle = outcomes.sql_at < NEVER
    after_sql = np.where(in_sales_cycle, outcomes.sql_at, 0) + DAYS_ACTIVE_AFTER_SQL * DAY
    active_until = np.where(in_sales_cycle, np.maximum(active_until, after_sql), active_until)
    active_until = np.where(outcomes.won, NEVER, active_until)
    return Activity(rng.lognormal(-(ENGAGEMENT_SPREAD**2) / 2, ENGAGEMENT_SPREAD, count), active_until)
