"""Checks shared by the hand-off tests: the recorded facts and the stored states agree."""

from __future__ import annotations

from leadgate.domain.stages import Stage
from leadgate.lifecycle.facts import LeadState, TransitionFact, fold
from leadgate.lifecycle.machine import check_transition, transitions_for
from leadgate.store.duckdb_store import DuckDBStore
from leadgate.store.lifecycle_store import LifecycleStore

TABLE = transitions_for(pql=True, sal=True)


def check_facts_and_states(store: DuckDBStore) -> dict[int, LeadState]:
    """Every recorded move is in the stage machine's table, and the states the store keeps (updated
    fact by fact as they are recorded) equal the fold of each lead's facts from scratch."""
    lifecycle = LifecycleStore(store)
    facts = lifecycle.facts_by_lead()
    for lead_facts in facts.values():
        for fact in lead_facts:
            if isinstance(fact, TransitionFact):
                check_transition(TABLE, fact.source, fact.target, fact.cause)
    states = lifecycle.states()
    assert {key: fold(key, lead_facts) for key, lead_facts in facts.items()} == states
    return states


def check_all_routed(states: dict[int, LeadState]) -> None:
    """No lead is left at MQL or PQL: each has an owner (a rep, or a manager's queue)."""
    for state in states.values():
        assert state.stage not in (Stage.MQL, Stage.PQL), f"left unassigned: {state}"
        if state.stage in (Stage.SAL_PENDING, Stage.SAL):
            assert state.owner is not None
