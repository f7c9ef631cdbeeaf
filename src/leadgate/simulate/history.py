"""A whole simulated history before its events: the world, and each lead's hidden fate.

Every part draws from its own random stream, ``numpy.random.default_rng([seed, part])``, so
the same (leads, days, seed, end) give the same history, and a change to one part leaves the
draws of the others alone. Events are drawn later, block by block (see ``behaviour``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from leadgate.errors import InputError
from leadgate.simulate.arrays import Floats
from leadgate.simulate.catalogue import ZONES
from leadgate.simulate.clock import Clock, Window
from leadgate.simulate.intent import HandRaises, plan_hand_raises
from leadgate.simulate.journeys import Activity, Arrivals, plan_activity, plan_arrivals
from leadgate.simulate.outcomes import Outcomes, plan_outcomes
from leadgate.simulate.propensity import hidden_propensity
from leadgate.simulate.world import World, build_world


class Stream(IntEnum):
    """The random stream of each part of the simulation."""

    WORLD = 0
    PROPENSITY = 1
    ARRIVALS = 2
    OUTCOMES = 3
    ACTIVITY = 4
    HAND_RAISES = 5
    BEHAVIOUR = 6


@dataclass(frozen=True)
class History:
    """Everything about a simulation that is decided before its events are drawn."""

    seed: int
    clock: Clock
    world: World
    propensity: Floats
    arrivals: Arrivals
    outcomes: Outcomes
    activity: Activity
    hand_raises: HandRaises

    @property
    def window(self) -> Window:
        """The simulated period."""
        return self.clock.window

    @property
    def lead_count(self) -> int:
        """Leads (people with a name); visitors are numbered after them."""
        return len(self.world.leads)

    def random(self, stream: Stream, *more: int) -> np.random.Generator:
        """The random generator of one part (and block) of this history."""
        return random_stream(self.seed, stream, *more)

    @property
    def people(self) -> int:
        """Leads and anonymous visitors."""
        return self.lead_count + len(self.world.visitors)

    @property
    def prefix(self) -> str:
        """The start of every id this history gives a fact (two seeds never collide)."""
        return f"sim-{self.seed}"


def build_history(leads: int, days: int, seed: int, end: dt.datetime) -> History:
    """Accounts, leads, visitors, propensities and outcomes for ``days`` days before ``end``."""
    _check(leads, days, seed)
    clock = Clock(Window.ending(end, days), ZONES)

    def stream(part: Stream) -> np.random.Generator:
        """The random generator of one part of this history."""
        return random_stream(seed, part)

    world = build_world(stream(Stream.WORLD), leads)
    propensity = hidden_propensity(stream(Stream.PROPENSITY), world)
    arrivals = plan_arrivals(stream(Stream.ARRIVALS), clock, world)
    employees = world.accounts.employees[world.leads.account]
    outcomes = plan_outcomes(
        stream(Stream.OUTCOMES), clock, propensity, arrivals.identified_at, employees, arrivals.zone
    )
    activity = plan_activity(stream(Stream.ACTIVITY), propensity, arrivals, outcomes)
    hand_raises = plan_hand_raises(
        stream(Stream.HAND_RAISES), clock, world.leads, propensity, arrivals, activity, outcomes
    )
    return History(seed, clock, world, propensity, arrivals, outcomes, activity, hand_raises)


def random_stream(seed: int, part: Stream, *more: int) -> np.random.Generator:
    """The random generator of one part (and block) of the history of ``seed``."""
    return np.random.default_rng([seed, int(part), *more])


def _check(leads: int, days: int, seed: int) -> None:
    if leads < 1:
        raise InputError(f"--leads must be at least 1 (got {leads})")
    if days < 1:
        raise InputError(f"--days must be at least 1 (got {days})")
    if seed < 0:
        raise InputError(f"--seed must be zero or more (got {seed})")
