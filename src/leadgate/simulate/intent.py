"""Hand-raisers: trials, demo requests and contact-sales forms, and when they happen.

Most leads that become sales qualified raise their hand shortly before (a demo request in
the last ten days, a contact-sales form in the last two weeks, a trial a few weeks earlier).
Others do so less often, more often when their propensity is higher: these are the
hand-raisers that sales later reject, which keeps the rule scores honest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Bools, Floats, Ints
from leadgate.simulate.clock import DAY, NEVER, Clock
from leadgate.simulate.journeys import Activity, Arrivals
from leadgate.simulate.outcomes import Outcomes
from leadgate.simulate.world import Leads


@dataclass(frozen=True)
class Plan:
    """How likely a hand raise is, and how long before the SQL it comes."""

    chance_if_sql: float
    days_before_sql: int
    base_chance: float
    chance_per_propensity: float


TRIAL = Plan(chance_if_sql=0.35, days_before_sql=25, base_chance=0.05, chance_per_propensity=0.5)
DEMO = Plan(chance_if_sql=0.55, days_before_sql=10, base_chance=0.01, chance_per_propensity=0.1)
CONTACT_SALES = Plan(chance_if_sql=0.3, days_before_sql=14, base_chance=0.005, chance_per_propensity=0.05)
PRODUCT_MINDED_TRIAL_BONUS = 0.08


@dataclass(frozen=True)
class HandRaises:
    """When each lead raised its hand, per kind (NEVER: it did not)."""

    trial_at: Ints  # NEVER: no trial
    demo_at: Ints
    contact_sales_at: Ints


def plan_hand_raises(
    rng: np.random.Generator,
    clock: Clock,
    leads: Leads,
    propensity: Floats,
    arrivals: Arrivals,
    activity: Activity,
    outcomes: Outcomes,
) -> HandRaises:
    """The trial, demo and contact-sales moments of each lead (NEVER where there is none)."""
    product_minded = np.isin(
        leads.role, [i for i, entry in enumerate(cat.ROLES) if entry.name in cat.PRODUCT_MINDED_ROLES]
    )
    bonus = np.where(product_minded, PRODUCT_MINDED_TRIAL_BONUS, 0.0)

    def plan(rule: Plan, extra_chance: Floats) -> Ints:
        """The moments of one kind of hand raise."""
        return _hand_raise(rng, clock, rule, propensity, extra_chance, arrivals, activity, outcomes)

    no_bonus = np.zeros(len(propensity))
    return HandRaises(plan(TRIAL, bonus), plan(DEMO, no_bonus), plan(CONTACT_SALES, no_bonus))


def _hand_raise(
    rng: np.random.Generator,
    clock: Clock,
    rule: Plan,
    propensity: Floats,
    extra_chance: Floats,
    arrivals: Arrivals,
    activity: Activity,
    outcomes: Outcomes,
) -> Ints:
    qualified: Bools = outcomes.sql_at < NEVER
    chance = np.where(qualified, rule.chance_if_sql, rule.base_chance + rule.chance_per_propensity * propensity)
    raises = rng.random(len(propensity)) < chance + extra_chance
    identified = arrivals.identified_at
    sql_at = np.where(qualified, outcomes.sql_at, identified)
    interest_ends = np.minimum(activity.active_until, clock.window.end)
    low = np.where(qualified, np.maximum(identified, sql_at - rule.days_before_sql * DAY), identified)
    high = np.where(qualified, sql_at, np.maximum(interest_ends, identified + DAY))
    return np.where(raises, clock.pick(rng, low, high, arrivals.zone), NEVER)
