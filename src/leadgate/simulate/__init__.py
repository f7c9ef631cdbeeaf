"""A synthetic but realistic history of leads, with its ground truth (``leadgate simulate``).

Accounts with firmographics, contacts with roles, budgets and needs, and what they do over
a window of days: web visits, e-mails, webinars, hand raises and product usage, with the
daily and weekly rhythm of people at work. Each lead has a hidden propensity to buy, driven
by its fit, that shapes both its behaviour and its outcome, so later work (scoring, funnels,
predictive models, backtests) has an answer to be measured against.

The same (leads, days, seed, end) always give the same history, whether written into a
store (:func:`simulate_into_store`) or as importable files (:func:`write_simulation_files`).

Rooms: ``catalogue`` (reference lists), ``clock`` (time zones and rhythms), ``world``
(accounts, contacts, visitors), ``propensity``, ``journeys`` (arrival, identification,
interest), ``outcomes``, ``intent`` (hand raises), ``web``, ``campaigns``, ``product`` and
``behaviour`` (event streams), ``history`` (the whole plan), ``truth``, and the outputs:
``facts`` and ``to_store``, ``jsonl`` and ``to_files``; then ``sales``, which plays the reps'
side over a stored history through the real cycle and decision path.
"""

from leadgate.simulate.sales import SalesSummary, play_sales
from leadgate.simulate.summary import SimulationSummary
from leadgate.simulate.to_files import write_simulation_files
from leadgate.simulate.to_store import TRUTH_TABLE, simulate_into_store

__all__ = [
    "TRUTH_TABLE",
    "SalesSummary",
    "SimulationSummary",
    "play_sales",
    "simulate_into_store",
    "write_simulation_files",
]
