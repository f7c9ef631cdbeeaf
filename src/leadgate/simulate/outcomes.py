"""What becomes of each lead: a sales-qualified opportunity, then won or lost.

A lead becomes an SQL with a probability that grows with its propensity, some weeks after it
identified itself (sooner when it is keener); the opportunity is decided some weeks later
(later for larger companies). An SQL is won with the probability that makes the overall
chance of winning equal to the propensity. What has not happened by the end of the window
is not known yet: such a lead's outcome is ``no_decision``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Bools, Floats, Ints
from leadgate.simulate.clock import DAY, NEVER, Clock

SQL_PER_PROPENSITY = 2.5
MAX_SQL_CHANCE = 0.9
OUTCOMES = ("won", "lost", "no_decision")


@dataclass(frozen=True)
class Outcomes:
    """Each lead's opportunity, decided whether or not the window sees it."""

    sql_at: Ints  # NEVER: never sales qualified
    decided_at: Ints  # NEVER: no opportunity to decide
    won: Bools  # the opportunity's eventual result (known once decided_at has passed)

    def known_by(self, end: int) -> tuple[Ints, Bools, Ints]:
        """As seen at ``end``: outcome (into OUTCOMES), converted, and the visible SQL moment."""
        decided = self.decided_at < end
        outcome = np.where(decided, np.where(self.won, 0, 1), 2)
        return outcome, decided & self.won, np.where(self.sql_at < end, self.sql_at, NEVER)


def plan_outcomes(
    rng: np.random.Generator, clock: Clock, propensity: Floats, identified_at: Ints, employees: Ints, zone: Ints
) -> Outcomes:
    """When each lead becomes an SQL and how its opportunity ends."""
    count = len(propensity)
    sql_chance = np.minimum(MAX_SQL_CHANCE, SQL_PER_PROPENSITY * propensity)
    qualified = rng.random(count) < sql_chance
    won = qualified & (rng.random(count) < propensity / sql_chance)
    days_to_sql = rng.gamma(2.0, 6 + 25 * (1 - propensity), count)
    sql_at = _working_moment(rng, clock, identified_at + (days_to_sql * DAY).astype(np.int64), zone)
    days_to_decide = rng.gamma(2.5, 6 + 3 * np.log(employees), count)
    decided_at = _working_moment(rng, clock, sql_at + (days_to_decide * DAY).astype(np.int64), zone)
    return Outcomes(np.where(qualified, sql_at, NEVER), np.where(qualified, decided_at, NEVER), won)


def _working_moment(rng: np.random.Generator, clock: Clock, around: Ints, zone: Ints) -> Ints:
    """A moment in the working hours of the day after ``around``."""
    return clock.pick(rng, around, around + DAY, zone)
