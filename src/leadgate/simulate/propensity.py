"""The hidden propensity of each lead: the probability that it becomes a customer.

It is a logistic function of the lead's fit (company size, role, industry, country, budget,
need maturity, e-mail domain, lead source) plus noise that no attribute explains. The same
number drives how much intent the lead shows (pricing visits, demo requests, trials) and how
likely it is to win, so rule scores correlate with outcomes without predicting them exactly.
"""

from __future__ import annotations

import numpy as np

from leadgate.simulate import catalogue as cat
from leadgate.simulate.arrays import Floats
from leadgate.simulate.world import World

INTERCEPT = -3.5
PER_LOG_EMPLOYEE = 0.3  # log-odds per e-fold of employees around REFERENCE_EMPLOYEES
REFERENCE_EMPLOYEES = 100
BIG_BUDGET = 10_000
FREEMAIL_FIT = -0.5
OUTSIDE_CORE_FIT = -0.5
CORE_FIT = 0.2
UNEXPLAINED_SPREAD = 0.9


def hidden_propensity(rng: np.random.Generator, world: World) -> Floats:
    """Each lead's probability of becoming a customer (the simulation's ground truth)."""
    leads, accounts = world.leads, world.accounts
    account = leads.account
    log_odds = (
        INTERCEPT
        + PER_LOG_EMPLOYEE * np.log(accounts.employees[account] / REFERENCE_EMPLOYEES)
        + np.array([entry.fit for entry in cat.ROLES])[leads.role]
        + np.array([entry.fit for entry in cat.INDUSTRIES])[accounts.industry[account]]
        + np.array([CORE_FIT if entry.core else OUTSIDE_CORE_FIT for entry in cat.COUNTRIES])[accounts.country[account]]
        + np.array([entry.fit for entry in cat.LEAD_SOURCES])[leads.source]
        + np.where(leads.need >= 0, np.array([entry.fit for entry in cat.NEED_MATURITIES])[leads.need], 0.0)
        + _budget_fit(leads.budget)
        + FREEMAIL_FIT * leads.freemail
        + rng.normal(0.0, UNEXPLAINED_SPREAD, len(leads))
    )
    return 1.0 / (1.0 + np.exp(-log_odds))


def _budget_fit(budget: Floats) -> Floats:
    """Unknown budgets say nothing; small ones lower the odds, large ones raise them."""
    known = np.nan_to_num(budget, nan=-1.0)
    return np.select([known < 0, known < 2_000, known < BIG_BUDGET], [0.0, -0.3, 0.2], default=0.6)
