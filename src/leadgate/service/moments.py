"""Reading the latest scores for the hand-off: the scored rows with each lead's lifecycle state,
and a lead's score at the moment it moves."""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import orjson

from leadgate.lifecycle.facts import Moment
from leadgate.playbook.compiled import Playbook
from leadgate.service.scoring import SCORES_TABLE
from leadgate.store.base import Store
from leadgate.store.schema import LEAD_STATE_TABLE


def scores_with_state(store: Store) -> ir.Table:
    """The latest scored rows, each with its lead's ``lead_state`` columns (null: it never moved)."""
    scores = store.backend.table(SCORES_TABLE)
    state = store.backend.table(LEAD_STATE_TABLE).rename(state_key="lead_key")
    return scores.left_join(state, scores.lead_key == state.state_key).drop("state_key")


def moment_of(row: dict[str, Any], playbook: Playbook) -> Moment:
    """The score a transition records: score, fit, engagement and every non-zero rule."""
    contributions = [
        {"rule": rule.id, "points": round(float(row[rule.column]), 6)}
        for rule in playbook.rules
        if row.get(rule.column)
    ]
    return Moment(
        score=_number(row.get("score")),
        fit=_number(row.get("fit")),
        engagement=_number(row.get("engagement")),
        contributions=orjson.dumps(contributions).decode(),
    )


def score_row(store: Store, lead_key: int) -> dict[str, Any]:
    """A lead's latest scored row (empty before its first scoring)."""
    if not store.has_table(SCORES_TABLE):
        return {}
    return store.lead_row(SCORES_TABLE, lead_key)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
