"""The ground truth of a history: each lead's propensity and its outcome as of the end.

``converted`` means the lead became a customer (its opportunity was won) before the end of
the window. ``sql_at`` is when it became sales qualified, ``outcome_at`` when its opportunity
was won or lost; both are unknown (NEVER) for what had not happened by then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadgate.simulate.arrays import Bools, Floats, Ints, Texts, texts
from leadgate.simulate.clock import NEVER
from leadgate.simulate.history import History
from leadgate.simulate.outcomes import OUTCOMES

TRUTH_COLUMNS = ("lead_id", "account_id", "propensity", "converted", "outcome", "sql_at", "outcome_at")


@dataclass(frozen=True)
class Truth:
    """The columns of ``simulation_truth`` and ``truth.csv``."""

    lead_ids: Texts
    account_ids: Texts
    propensity: Floats
    converted: Bools
    outcome: Texts
    sql_at: Ints
    outcome_at: Ints


def ground_truth(history: History) -> Truth:
    """What the simulation knows and the facts only hint at."""
    end = history.window.end
    outcome, converted, sql_at = history.outcomes.known_by(end)
    decided_at = history.outcomes.decided_at
    return Truth(
        lead_ids=history.world.leads.ids,
        account_ids=history.world.accounts.ids[history.world.leads.account],
        propensity=history.propensity,
        converted=converted,
        outcome=texts(OUTCOMES)[outcome],
        sql_at=sql_at,
        outcome_at=np.where(decided_at < end, decided_at, NEVER),
    )
